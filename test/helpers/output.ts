// The child processes tests start (Temporal's dev server, Prometheus, Alertmanager, OPA): their output,
// line by line under their name, goes to this process's stderr, which the test environment
// (test/jest/quiet-environment.ts) keeps with the logs of the test that was running and prints only if
// that test fails; and they are waited for when stopped, so that none outlives its test file.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface SupervisedChild {
  /** Why the child is gone (its exit code, signal or spawn error), or undefined while it runs. */
  readonly gone: string | undefined;
  /** Sends `signal` unless the child is gone, waits until it is, and stops forwarding its output. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `child` must have been spawned with its stdout and stderr piped. */
export function supervise(name: string, child: ChildProcess): SupervisedChild {
  let forwarding = true;
  let gone: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => (gone ??= signal ?? `exit code ${code}`));
    // Its output read to the end too.
    child.once('close', () => resolve());
    child.once('error', (error) => {
      gone ??= error.message;
      if (child.pid === undefined) resolve();
    });
  });
  const forward = (stream: Readable | null) => {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    // Read even when no longer forwarded, so the child never blocks on a full pipe.
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      if (forwarding && lines.length > 0) process.stderr.write(lines.map((line) => `[${name}] ${line}\n`).join(''));
    });
    stream.on('end', () => {
      if (forwarding && partial !== '') process.stderr.write(`[${name}] ${partial}\n`);
    });
  };
  forward(child.stdout);
  forward(child.stderr);
  return {
    get gone() {
      return gone;
    },
    async stop(signal = 'SIGTERM') {
      if (gone === undefined) child.kill(signal);
      await exited;
      forwarding = false;
    },
  };
}
