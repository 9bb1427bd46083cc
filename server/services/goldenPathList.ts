// The golden paths a spec may run, with their steps' names and descriptions: the service behind
// tRPC `goldenPaths` and GET /api/golden-paths.
import { DEFAULT_GOLDEN_PATH, type GoldenPathList } from '../../shared/api.js';
import type { QueueServices } from './context.js';

export function listGoldenPaths(services: Pick<QueueServices, 'goldenPaths'>): GoldenPathList {
  const goldenPaths = [...services.goldenPaths.values()].map((goldenPath) => ({
    name: goldenPath.name,
    description: goldenPath.description,
    default: goldenPath.name === DEFAULT_GOLDEN_PATH,
    steps: goldenPath.workflow.steps.map((step) => ({
      name: step.name,
      type: step.type,
      description: step.description ?? null,
    })),
  }));
  return { count: goldenPaths.length, golden_paths: goldenPaths };
}
