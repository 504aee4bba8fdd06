/**
 * Signal ownership (docs/ARCHITECTURE.md): a library never changes how the
 * process exits. To flush on SIGINT/SIGTERM/SIGHUP it must listen, which by
 * itself would stop Node's default exit; so when our listener is the only one
 * we flush, remove every listener of ours and re-raise the signal, and the
 * process dies of it exactly as it would have. When the application listens
 * too, it owns the signal (and calls close()); we stand aside.
 */

export interface ExitParticipant {
  /** Write everything buffered and, when `final`, the footer; synchronous, never throws. */
  exitSync(final: boolean): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Sig = (typeof SIGNALS)[number];

const participants = new Set<ExitParticipant>();
let installed = false;

function flushAll(final: boolean): void {
  for (const p of [...participants]) p.exitSync(final);
}

function onExit(): void {
  flushAll(true);
}

function onUncaught(): void {
  // With an 'uncaughtException' handler the application may go on: keep logging.
  flushAll(process.listenerCount('uncaughtException') === 0);
}

// Listeners of libraries that follow this protocol carry this mark (shared by name with
// @portflow/native's port reservation): only unmarked listeners are the application's, so
// two such libraries never both stand aside and leave the signal ignored.
const EXIT_HOOK_MARK = Symbol.for('portflow.exitHook');
const marked = (f: () => void) => Object.assign(f, { [EXIT_HOOK_MARK]: true });

const onSignal: Record<Sig, () => void> = {
  SIGINT: marked(() => signalled('SIGINT')),
  SIGTERM: marked(() => signalled('SIGTERM')),
  SIGHUP: marked(() => signalled('SIGHUP')),
};

function signalled(sig: Sig): void {
  if (process.listeners(sig).some((l) => !(l as unknown as Record<symbol, unknown>)[EXIT_HOOK_MARK])) return;
  flushAll(true);
  uninstall();
  process.kill(process.pid, sig);
}

function install(): void {
  installed = true;
  process.on('exit', onExit);
  process.on('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.on(s, onSignal[s]);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', onExit);
  process.removeListener('uncaughtExceptionMonitor', onUncaught);
  for (const s of SIGNALS) process.removeListener(s, onSignal[s]);
}

export function registerExit(p: ExitParticipant): void {
  participants.add(p);
  if (!installed) install();
}

export function unregisterExit(p: ExitParticipant): void {
  participants.delete(p);
  if (participants.size === 0) uninstall();
}
