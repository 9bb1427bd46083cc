// Pausing and resuming claims, cluster-wide or for one application: the services behind
// `pauseQueue`, `resumeQueue` and `pauses` and POST /api/queue/pause, /resume, GET /paused.
import type { Pause, PauseInput, Pauses } from '../../shared/scheduling.js';
import { toTRPCError } from '../errors.js';
import { addPause, CLUSTER_SCOPE, readPauses, removePause } from '../queue/pauses.js';
import type { Principal, QueueServices } from './context.js';

export interface PauseAction {
  app_name: string | null;
  paused: boolean;
  message: string;
}

const what = (app: string | undefined) => (app ? `application '${app}'` : 'the whole queue');

/** Stops new claims (running tasks finish) from the moment it returns, on every node. */
export async function pauseQueue(
  services: QueueServices,
  input: PauseInput,
  principal: Principal,
): Promise<PauseAction> {
  try {
    const added = await addPause(
      services.database,
      input.app_name ?? CLUSTER_SCOPE,
      principal.user,
    );
    services.logger.info({ app: input.app_name, user: principal.user }, 'queue paused');
    return {
      app_name: input.app_name ?? null,
      paused: true,
      message: added
        ? `Paused ${what(input.app_name)}: no new task starts; running tasks finish.`
        : `${capitalize(what(input.app_name))} was paused already.`,
    };
  } catch (error) {
    throw toTRPCError(error);
  }
}

export async function resumeQueue(
  services: QueueServices,
  input: PauseInput,
  principal: Principal,
): Promise<PauseAction> {
  try {
    const removed = await removePause(services.database, input.app_name ?? CLUSTER_SCOPE);
    if (removed) {
      services.logger.info({ app: input.app_name, user: principal.user }, 'queue resumed');
      services.announceNewTask();
    }
    return {
      app_name: input.app_name ?? null,
      paused: false,
      message: removed
        ? `Resumed ${what(input.app_name)}.`
        : `${capitalize(what(input.app_name))} was not paused.`,
    };
  } catch (error) {
    throw toTRPCError(error);
  }
}

export async function listPauses(services: Pick<QueueServices, 'database'>): Promise<Pauses> {
  try {
    const pauses: Pause[] = (await readPauses(services.database)).map((row) => ({
      app_name: row.scope === CLUSTER_SCOPE ? null : row.scope,
      paused_by: row.paused_by,
      paused_at: row.paused_at.toISOString(),
    }));
    return { cluster_paused: pauses.some((p) => p.app_name === null), pauses };
  } catch (error) {
    throw toTRPCError(error);
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
