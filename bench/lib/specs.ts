// The specs the benchmarks enqueue: the demo guide's test-score.yaml, and Score specs whose
// workflow is empty (completes at once) or a single `true` step.
import { guideSpecYaml } from '../../tests/helpers/guideSpec.js';
import type { ScoreSpec } from '../../shared/spec.js';

/** test-score.yaml from the demo guide, byte for byte apart from the application name. */
export function guideYaml(appName = 'demo-app'): string {
  return guideSpecYaml({ appName });
}

/** The guide's spec as the SDK sends it (a parsed object). */
export function guideSpec(appName = 'demo-app'): ScoreSpec {
  return {
    apiVersion: 'score.dev/v1b1',
    metadata: { name: appName },
    containers: { web: { image: 'nginx:latest' } },
    workflow: {
      steps: [
        {
          name: 'simulate-work',
          type: 'bash',
          config: { command: 'echo "Simulating workflow..."\nsleep 5\necho "Complete!"\n' },
        },
      ],
    },
  };
}

/** A spec whose workflow has no steps: the task completes as soon as it is claimed. */
export function emptyWorkflowJson(appName: string): string {
  return JSON.stringify({
    apiVersion: 'score.dev/v1b1',
    metadata: { name: appName },
    containers: { web: { image: 'nginx:latest' } },
    workflow: { steps: [] },
  });
}

/** One bash step running `true`: what a step costs beyond the command itself. */
export function trueStepJson(appName: string): string {
  return JSON.stringify({
    apiVersion: 'score.dev/v1b1',
    metadata: { name: appName },
    containers: { web: { image: 'nginx:latest' } },
    workflow: { steps: [{ name: 'noop', type: 'bash', config: { command: 'true' } }] },
  });
}

export const YAML_HEADERS = { 'content-type': 'application/yaml' };
export const JSON_HEADERS = { 'content-type': 'application/json' };
