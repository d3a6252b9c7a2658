// The test environment: Node's, with every log the test file's process makes held back. console.*, the
// process's stdout and stderr writes (pino, the Temporal SDK's logger, process warnings, the output of
// the child processes the helpers forward: Temporal's dev server, Prometheus, Alertmanager, OPA) go into a
// buffer: a passing test's share is dropped, a failing test's is handed to the reporter, which prints it
// just before the failure. Logs outside any test (beforeAll, afterAll) are printed when anything in the
// file failed. FINOPS_SOAR_TEST_LOGS=all lets every log through as it is written.
// It also reads every log for the secrets the tests configure (test/helpers/secrets.ts): a test that
// logged one fails, naming it (a log outside any test fails the file); a value whole in one write is masked.
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type { Circus } from '@jest/types';
import NodeEnvironment from 'jest-environment-node';
import { TEST_SECRETS } from '../helpers/secrets';
import { SecretScanner } from './secret-scan';

/** A test's or the file's logs, in the order they were written. */
interface Segment {
  title: string;
  chunks: string[];
  size: number;
  dropped: number;
}

/** The last this many characters of a segment are kept: enough for any failure, bounded for a runaway log. */
const SEGMENT_LIMIT = 1_000_000;

type Stream = NodeJS.WriteStream;
type Write = (text: string) => boolean;

const testName = (test: Circus.TestEntry): string => {
  const names = [test.name];
  for (let block: Circus.DescribeBlock | undefined = test.parent; block?.parent; block = block.parent)
    names.unshift(block.name);
  return names.join(' › ');
};

export default class QuietEnvironment extends NodeEnvironment {
  private readonly testConsole: EnvironmentContext['console'];
  private readonly passThrough = process.env.FINOPS_SOAR_TEST_LOGS === 'all';
  /** The file's segments and the failing tests', in order; passing tests' are dropped. */
  private readonly kept: Segment[] = [];
  private current: Segment;
  private failed = false;
  private flushed = false;
  /** The process's own stdout and stderr writes, and how to put them back. */
  private readonly realWrites = new Map<Stream, Write>();
  private readonly restores: Array<() => unknown> = [];
  private readonly scanner = new SecretScanner(TEST_SECRETS);
  /** Secrets seen in the current test's logs, and outside any test. */
  private leakedInTest = new Set<string>();
  private readonly leakedOutside = new Set<string>();
  private inTest = false;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.testConsole = context.console;
    this.current = this.fileSegment('outside the tests, before the first');
  }

  override async setup(): Promise<void> {
    await super.setup();
    if (this.passThrough) return;
    const capture = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.append(chunk.toString());
        done();
      },
    });
    this.global.console = new Console({ stdout: capture, stderr: capture });
    for (const stream of [process.stdout, process.stderr]) {
      const own = Object.getOwnPropertyDescriptor(stream, 'write');
      this.restores.push(() =>
        own ? Object.defineProperty(stream, 'write', own) : delete (stream as Partial<Stream>).write,
      );
      this.realWrites.set(stream, stream.write.bind(stream));
      stream.write = (chunk: string | Uint8Array, encoding?: unknown, done?: unknown): boolean => {
        this.append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
        const callback = typeof encoding === 'function' ? encoding : done;
        if (typeof callback === 'function') process.nextTick(callback);
        return true;
      };
    }
  }

  override async teardown(): Promise<void> {
    for (const restore of this.restores.splice(0)) restore();
    // The file never ran its tests (it failed to load, say): what it logged goes out as it is.
    if (!this.flushed && !this.passThrough) this.print((text) => process.stderr.write(text));
    await super.teardown();
  }

  handleTestEvent(event: Circus.Event, state: Circus.State): void {
    if (this.passThrough) return;
    switch (event.name) {
      case 'test_start':
        this.current = { title: `logs of ✕ ${testName(event.test)}`, chunks: [], size: 0, dropped: 0 };
        this.inTest = true;
        break;
      case 'test_done':
        this.inTest = false;
        if (this.leakedInTest.size > 0) event.test.errors.push(leakError(this.leakedInTest));
        this.leakedInTest = new Set();
        if (event.test.errors.length > 0) {
          this.failed = true;
          this.kept.push(this.current);
        }
        this.current = this.fileSegment(`outside the tests, after «${testName(event.test)}»`);
        break;
      case 'hook_failure':
        this.failed = true;
        break;
      case 'run_finish':
        if (this.leakedOutside.size > 0) state.unhandledErrors.push(leakError(this.leakedOutside));
        if (this.failed || state.unhandledErrors.length > 0) this.print(this.failureLog());
        this.kept.length = 0;
        this.flushed = true;
        break;
      default:
        break;
    }
  }

  /**
   * Where a failing file's logs go: jest's console for the file, whose entries the reporter prints
   * with the file's failures (as entries without a call site: it is this file's, of no use); a console
   * that does not buffer (--verbose, --silent) would lose them, so there they go out as they are.
   */
  private failureLog(): (text: string) => boolean {
    const buffer = (this.testConsole as unknown as { _buffer?: unknown })._buffer;
    if (this.testConsole.constructor.name === 'BufferedConsole' && Array.isArray(buffer))
      return (text) => buffer.push({ type: 'log', message: text.trimEnd(), origin: '' }) > 0;
    const realStderr = this.realWrites.get(process.stderr);
    return realStderr ?? ((text) => (this.testConsole.log(text.trimEnd()), true));
  }

  private fileSegment(when: string): Segment {
    const segment = { title: `logs ${when}`, chunks: [], size: 0, dropped: 0 };
    this.kept.push(segment);
    return segment;
  }

  private append(chunk: string): void {
    let text = chunk;
    for (const name of this.scanner.scan(chunk)) {
      (this.inTest ? this.leakedInTest : this.leakedOutside).add(name);
      text = text.replaceAll(TEST_SECRETS[name]!, `[the secret ${name}]`);
    }
    const segment = this.current;
    segment.chunks.push(text);
    segment.size += text.length;
    while (segment.size > SEGMENT_LIMIT && segment.chunks.length > 1) {
      const dropped = segment.chunks.shift()!;
      segment.size -= dropped.length;
      segment.dropped += dropped.length;
    }
  }

  /** Each non-empty segment under its title. */
  private print(write: (text: string) => boolean): void {
    for (const { title, chunks, dropped } of this.kept) {
      if (chunks.length === 0) continue;
      const cut = dropped > 0 ? ` (the first ${dropped} characters are left out)` : '';
      write(`── ${title}${cut} ──\n${chunks.join('')}`);
    }
    this.kept.length = 0;
  }
}

const leakError = (names: Set<string>) =>
  new Error(
    `a log line contains ${[...names].join(', ')} in clear: redact it where it is logged (observability/logger.ts lists the redacted keys)`,
  );
