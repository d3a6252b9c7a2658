// The simulator's S3 (and the tests'): S3's REST protocol for the bucket lifecycle calls, path-style:
// GET / PUT / DELETE /{bucket}?lifecycle. No S3-compatible server that implements lifecycle
// transitions installs here (see the S3 lifecycle issue), so tests and `npm start` drive the real
// @aws-sdk/client-s3 against this one. It checks what S3 checks on these calls (the payload
// checksum the SDK sends, unique rule IDs, the 30-day minimum of the infrequent-access classes),
// answers S3's XML errors, stores the rules' XML as sent, logs every request and counts mutations.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { reachableHost } from '../config/local-stack';
import { ServerFaults, sleep } from './faults';

/** The only key the simulator accepts (it checks the key id, not the signature): not a secret. */
export const SIMULATOR_S3_CREDENTIALS = { accessKeyId: 'AKIAFINOPSSOARSIM', secretAccessKey: 'finops-soar-simulator' };

export interface S3Request {
  method: string;
  /** Path and query as sent, e.g. `/llm-logs/?lifecycle=`. */
  path: string;
  contentType: string | undefined;
  /** `content-md5` and `x-amz-checksum-*` headers: S3 requires one on PutBucketLifecycleConfiguration. */
  checksums: Record<string, string>;
  body: string;
}

/** An object as ListObjectsV2 lists it: the simulator keeps no contents, only what a listing shows. */
export interface SeededObject {
  key: string;
  size: number;
  /** Default STANDARD. */
  storageClass?: string;
  lastModified: Date;
}

export interface StoredLifecycle {
  /** Each `<Rule>…</Rule>` element as the client sent it. */
  rules: string[];
  transitionDefaultMinimumObjectSize: string;
}

interface InjectedFault {
  status: number;
  code: string;
  message: string;
}

export interface S3LifecycleServer {
  url: string;
  /** Existing buckets and their lifecycle configuration (null: none). */
  buckets: Map<string, StoredLifecycle | null>;
  requests: S3Request[];
  /** Accepted PUT and DELETE requests. */
  readonly mutations: number;
  /** Answers the next `count` requests with this S3 error instead of handling them. */
  failNext(count: number, fault: InjectedFault): void;
  /** Faults on a rate and held answers, for the fault tests. */
  readonly faults: ServerFaults;
  /** The PUT and DELETE requests that were applied, in order. */
  readonly applied: ReadonlyArray<{ method: string; bucket: string }>;
  /** The objects ListObjectsV2 lists, per existing bucket (a test or the simulator seeds them). */
  objects: Map<string, SeededObject[]>;
  /** Adds objects to an existing bucket's listing. */
  putObjects(bucket: string, objects: SeededObject[]): void;
  /** Forgets the request log and the mutation count (after a test has set a bucket up). */
  resetLog(): void;
  close(): Promise<void>;
}

const NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
// S3's default since September 2024, answered when a PUT does not set it.
const DEFAULT_MINIMUM_OBJECT_SIZE = 'all_storage_classes_128K';
const MINIMUM_TRANSITION_DAYS: Record<string, number> = { STANDARD_IA: 30, ONEZONE_IA: 30 };

class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly bucket?: string,
  ) {
    super(message);
  }
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);

const checksumOf: Record<string, (body: Buffer) => string> = {
  'content-md5': (body) => createHash('md5').update(body).digest('base64'),
  'x-amz-checksum-crc32': (body) => {
    const digest = Buffer.alloc(4);
    digest.writeUInt32BE(crc32(body));
    return digest.toString('base64');
  },
  'x-amz-checksum-sha1': (body) => createHash('sha1').update(body).digest('base64'),
  'x-amz-checksum-sha256': (body) => createHash('sha256').update(body).digest('base64'),
};

function verifyPayload(request: IncomingMessage, body: Buffer): void {
  const contentSha256 = request.headers['x-amz-content-sha256'];
  if (
    typeof contentSha256 === 'string' &&
    contentSha256 !== 'UNSIGNED-PAYLOAD' &&
    contentSha256 !== createHash('sha256').update(body).digest('hex')
  ) {
    throw new S3Failure(
      400,
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const sent = Object.keys(request.headers).filter(
    (name) => name === 'content-md5' || name.startsWith('x-amz-checksum-'),
  );
  if (sent.length === 0)
    throw new S3Failure(400, 'InvalidRequest', 'Missing required header for this request: Content-MD5');
  for (const name of sent) {
    const compute = checksumOf[name];
    if (!compute)
      throw new S3Failure(
        400,
        'InvalidRequest',
        `this test server does not compute ${name}; send Content-MD5 or x-amz-checksum-crc32`,
      );
    if (request.headers[name] !== compute(body))
      throw new S3Failure(400, 'BadDigest', `The ${name} you specified did not match the calculated checksum.`);
  }
}

const elementText = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** The `<Rule>` elements of a PutBucketLifecycleConfiguration body, checked as S3 checks them. */
function parseRules(body: string): string[] {
  const document = new RegExp(
    `^<\\?xml[^>]*\\?>\\s*<LifecycleConfiguration xmlns="${NAMESPACE}">([\\s\\S]*)</LifecycleConfiguration>\\s*$`,
  ).exec(body);
  const malformed = new S3Failure(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
  if (!document) throw malformed;
  const rules = document[1]!.match(/<Rule>[\s\S]*?<\/Rule>/g) ?? [];
  if (rules.length === 0 || rules.join('') !== document[1]!.trim()) throw malformed;
  const ids = new Set<string>();
  for (const rule of rules) {
    if (!/<Status>(Enabled|Disabled)<\/Status>/.test(rule)) throw malformed;
    const id = elementText(rule, 'ID');
    if (id !== undefined) {
      if (id.length > 255)
        throw new S3Failure(400, 'InvalidArgument', 'ID length should not exceed allowed limit of 255');
      if (ids.has(id))
        throw new S3Failure(400, 'InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule');
      ids.add(id);
    }
    for (const transition of rule.match(/<Transition>[\s\S]*?<\/Transition>/g) ?? []) {
      const storageClass = elementText(transition, 'StorageClass') ?? '';
      const days = Number(elementText(transition, 'Days'));
      const minimum = MINIMUM_TRANSITION_DAYS[storageClass];
      if (minimum !== undefined && days < minimum) {
        throw new S3Failure(
          400,
          'InvalidArgument',
          `'Days' in Transition action must be greater than or equal to ${minimum} for storageClass '${storageClass}'`,
        );
      }
    }
  }
  return rules;
}

export async function startS3LifecycleServer(
  bucketNames: readonly string[],
  { host = '127.0.0.1', port: listenPort = 0 } = {},
): Promise<S3LifecycleServer> {
  const buckets = new Map<string, StoredLifecycle | null>(bucketNames.map((name) => [name, null]));
  const requests: S3Request[] = [];
  const faults: InjectedFault[] = [];
  const serverFaults = new ServerFaults();
  const applied: Array<{ method: string; bucket: string }> = [];
  let mutations = 0;
  const objects = new Map<string, SeededObject[]>();

  const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    response.writeHead(status, {
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...(body && { 'content-type': 'application/xml' }),
      ...headers,
    });
    response.end(body);
  };

  const sendError = (response: ServerResponse, { status, code, message, bucket }: S3Failure) =>
    send(
      response,
      status,
      `${XML_DECLARATION}<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message>${bucket ? `<BucketName>${escapeXml(bucket)}</BucketName>` : ''}<RequestId>TEST</RequestId></Error>`,
    );

  function handle(request: IncomingMessage, body: Buffer, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://s3.test');
    const bucket = decodeURIComponent(url.pathname.replace(/^\/|\/$/g, ''));
    if (request.method === 'GET' && url.searchParams.get('list-type') === '2' && bucket !== '' && !bucket.includes('/'))
      return listObjectsV2(request, url, bucket, response);
    if (!url.searchParams.has('lifecycle') || bucket === '' || bucket.includes('/')) {
      throw new S3Failure(
        501,
        'NotImplemented',
        `this test server implements only GET, PUT and DELETE /{bucket}?lifecycle, not ${request.method} ${request.url}`,
      );
    }
    const credential = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
    if (credential !== SIMULATOR_S3_CREDENTIALS.accessKeyId) {
      throw new S3Failure(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    }
    if (!buckets.has(bucket)) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist', bucket);
    const stored = buckets.get(bucket)!;

    switch (request.method) {
      case 'GET':
        if (!stored)
          throw new S3Failure(
            404,
            'NoSuchLifecycleConfiguration',
            'The lifecycle configuration does not exist',
            bucket,
          );
        return send(
          response,
          200,
          `${XML_DECLARATION}<LifecycleConfiguration xmlns="${NAMESPACE}">${stored.rules.join('')}</LifecycleConfiguration>`,
          {
            'x-amz-transition-default-minimum-object-size': stored.transitionDefaultMinimumObjectSize,
          },
        );
      case 'PUT': {
        verifyPayload(request, body);
        const rules = parseRules(body.toString('utf8'));
        const sizeHeader = request.headers['x-amz-transition-default-minimum-object-size'];
        const transitionDefaultMinimumObjectSize =
          typeof sizeHeader === 'string' ? sizeHeader : DEFAULT_MINIMUM_OBJECT_SIZE;
        buckets.set(bucket, { rules, transitionDefaultMinimumObjectSize });
        mutations += 1;
        applied.push({ method: 'PUT', bucket });
        return send(response, 200, '', {
          'x-amz-transition-default-minimum-object-size': transitionDefaultMinimumObjectSize,
        });
      }
      case 'DELETE':
        buckets.set(bucket, null);
        mutations += 1;
        applied.push({ method: 'DELETE', bucket });
        return send(response, 204, '');
      default:
        throw new S3Failure(
          405,
          'MethodNotAllowed',
          `The specified method is not allowed against this resource: ${request.method}`,
        );
    }
  }

  /**
   * ListObjectsV2, as https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html describes it: GET
   * /{bucket}?list-type=2 with prefix, start-after, continuation-token and max-keys (at most 1,000, S3's default and
   * ceiling); keys in UTF-8 binary order; a truncated page says IsTruncated and a NextContinuationToken (opaque to
   * the client: here the last key listed, base64). No delimiter (CommonPrefixes): the reviews list whole buckets.
   */
  function listObjectsV2(request: IncomingMessage, url: URL, bucket: string, response: ServerResponse) {
    const credential = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
    if (credential !== SIMULATOR_S3_CREDENTIALS.accessKeyId)
      throw new S3Failure(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    if (!buckets.has(bucket)) throw new S3Failure(404, 'NoSuchBucket', 'The specified bucket does not exist', bucket);
    const prefix = url.searchParams.get('prefix') ?? '';
    const startAfter = url.searchParams.get('start-after') ?? '';
    const token = url.searchParams.get('continuation-token');
    const maxKeys = Math.min(1_000, Math.max(0, Number(url.searchParams.get('max-keys') ?? 1_000) || 0));
    const after = token === null ? startAfter : Buffer.from(token, 'base64').toString('utf8');
    const byKey = (a: SeededObject, b: SeededObject) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
    const matching = (objects.get(bucket) ?? [])
      .filter(
        (object) => object.key.startsWith(prefix) && Buffer.compare(Buffer.from(object.key), Buffer.from(after)) > 0,
      )
      .sort(byKey);
    const page = matching.slice(0, maxKeys);
    const truncated = matching.length > page.length;
    const contents = page
      .map(
        (object) =>
          `<Contents><Key>${escapeXml(object.key)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified><ETag>&quot;${createHash('md5').update(object.key).digest('hex')}&quot;</ETag><Size>${object.size}</Size><StorageClass>${object.storageClass ?? 'STANDARD'}</StorageClass></Contents>`,
      )
      .join('');
    const next = truncated
      ? `<NextContinuationToken>${Buffer.from(page.at(-1)!.key).toString('base64')}</NextContinuationToken>`
      : '';
    return send(
      response,
      200,
      `${XML_DECLARATION}<ListBucketResult xmlns="${NAMESPACE}"><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix>${token === null ? '' : `<ContinuationToken>${escapeXml(token)}</ContinuationToken>`}${startAfter ? `<StartAfter>${escapeXml(startAfter)}</StartAfter>` : ''}<KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`,
    );
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => void answer());
    const answer = async () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        checksums: Object.fromEntries(
          Object.entries(request.headers).filter(
            ([name]) => name === 'content-md5' || name.startsWith('x-amz-checksum-'),
          ),
        ) as Record<string, string>,
        body: body.toString('utf8'),
      });
      const fault = faults.shift();
      try {
        if (fault) throw new S3Failure(fault.status, fault.code, fault.message);
        // An injected fault on a rate refuses the request before it is applied.
        const injected = serverFaults.rate?.draw(request.method ?? '', request.url ?? '');
        if (injected?.kind === 'timeout' || injected?.kind === 'slow') await sleep(injected.delayMs);
        if (injected?.kind === 'throttle')
          throw new S3Failure(429, 'SlowDown', `injected fault: reduce your request rate`);
        if (injected && injected.kind !== 'slow')
          throw new S3Failure(
            injected.status,
            injected.status === 503 ? 'ServiceUnavailable' : 'InternalError',
            `injected fault: ${injected.status}`,
          );
        handle(request, body, response);
      } catch (error) {
        if (!(error instanceof S3Failure)) throw error;
        sendError(response, error);
      }
    };
  });
  await new Promise<void>((resolve) => server.listen(listenPort, host, resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${reachableHost(host)}:${port}`,
    buckets,
    requests,
    get mutations() {
      return mutations;
    },
    faults: serverFaults,
    applied,
    objects,
    putObjects(bucket, seeded) {
      if (!buckets.has(bucket)) throw new Error(`no bucket ${bucket}: start the server with it`);
      objects.set(bucket, [...(objects.get(bucket) ?? []), ...seeded]);
    },
    failNext(count, fault) {
      for (let index = 0; index < count; index += 1) faults.push(fault);
    },
    resetLog() {
      requests.length = 0;
      mutations = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
