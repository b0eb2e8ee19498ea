// Start-up cleanup: any container of this install that exists before the host starts any is left
// from a previous run (crash, kill -9, power loss) and holds memory and session files for nothing.
import { INSTALL_LABEL, silentLogger, type ContainerLogger, type ContainerRuntime } from './runtime.ts';

/** Removes every container labelled with this install; returns how many were removed. */
export async function removeOrphans(
  runtime: ContainerRuntime,
  installId: string,
  log: ContainerLogger = silentLogger,
): Promise<number> {
  const orphans = await runtime.list({ [INSTALL_LABEL]: installId });
  const results = await Promise.allSettled(orphans.map((ref) => runtime.remove(ref)));
  let removed = 0;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') removed += 1;
    else
      log.warn({ container: orphans[i]?.name, err: String(result.reason) }, 'orphan container not removed');
  });
  if (orphans.length > 0)
    log.info({ installId, removed, found: orphans.length }, 'orphan containers removed');
  return removed;
}
