import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { openApiDocument } from '../src/openapi/document';

/** What the checker needs of an answer (supertest's Response has it). */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
  /** The body was not read (a CSV export, a body cut short): checked as HEAD is, body aside. */
  unread?: boolean;
}

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses: Record<string, Json>;
}

const pointer = (...keys: string[]) => '#' + keys.map((key) => '/' + encodeURIComponent(key.replaceAll('~', '~0').replaceAll('/', '~1'))).join('');

/** The body as text: supertest's own, or what a test's parser made of it (a string or a Buffer). */
function textOf(answer: Answer): string | undefined {
  if (answer.text !== undefined) return answer.text;
  if (typeof answer.body === 'string') return answer.body;
  return Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : undefined;
}

/** The JSON body: supertest's parsed one, or parsed from the text (fetch, raw HTTP, a test's own parser). */
function jsonBody(answer: Answer): { json: unknown } | { unparsed: string } {
  if (answer.body !== undefined && !Buffer.isBuffer(answer.body) && typeof answer.body !== 'string') return { json: answer.body };
  try {
    return { json: JSON.parse(textOf(answer)!) };
  } catch {
    return { unparsed: 'the body is not JSON' };
  }
}

/** Where a declared header's schema is: in its component, or in the response itself. */
const headerSchemaAt = (declared: Json, where: string[], name: string) =>
  typeof declared.$ref === 'string' ? `${declared.$ref}/schema` : pointer(...where, 'headers', name, 'schema');
const methods = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** The path as the server routes it: not normalised (`/a/../health` is no /health to Express). */
const pathOf = (url: string) => /^(?:[a-z][a-z\d+.-]*:\/\/[^/?#]*)?([^?#]*)/i.exec(url)![1] || '/';

/** Paths the API owns: a request elsewhere (a test's own server) is not checked. */
const apiOwned = (path: string) => /^\/(api|auth|docs)(\/|$)/.test(path);

/**
 * Checks an answer against the OpenAPI document: the operation lists the status, declared headers
 * are present when required and match their schemas, and the content type and body match.
 * Returns what is wrong, or undefined.
 */
export class ResponseChecker {
  private readonly document = openApiDocument().document as unknown as Json & { paths: Record<string, Json> };
  private readonly ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly templates = Object.keys(this.document.paths).map((path) => ({
    path,
    pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+').replace(/\/$/, '')}/?$`),
  }));

  constructor() {
    this.ajv.addFormat('uri', /^https?:\/\/[^\s/$.?#][^\s]*$/);
    this.ajv.addSchema(this.document, 'openapi.json');
    this.compileAll();
  }

  /** Every validator up front: a check then costs microseconds, never a compile inside a test's timing. */
  private compileAll(): void {
    this.validator(pointer('components', 'schemas', 'Error'));
    for (const [path, pathItem] of Object.entries(this.document.paths)) {
      for (const verb of methods.filter((name) => name in pathItem)) {
        for (const [status, response] of Object.entries((pathItem[verb] as Operation).responses)) {
          const where = ['paths', path, verb, 'responses', status];
          for (const [name, declared] of Object.entries((response.headers ?? {}) as Record<string, Json>)) this.validator(headerSchemaAt(declared, where, name));
          for (const type of Object.keys((response.content ?? {}) as Json)) this.validator(pointer(...where, 'content', type, 'schema'));
        }
      }
    }
  }

  /** Whether an answer from this URL is checked: the document's paths and the API's own prefixes. */
  covers(url: string): boolean {
    const path = pathOf(url);
    return apiOwned(path) || this.templates.some((candidate) => candidate.pattern.test(path));
  }

  check(method: string, url: string, answer: Answer): string | undefined {
    const path = pathOf(url);
    const what = `${method} ${path} answered ${answer.status}`;
    const template = this.templates.find((candidate) => candidate.pattern.test(path))?.path;
    if (!template) return apiOwned(path) ? this.unlisted(what, path, answer) : undefined;
    const pathItem = this.document.paths[template]!;
    const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    const operation = pathItem[verb] as Operation | undefined;
    if (!operation) return this.otherMethod(what, pathItem, answer);
    const response = operation.responses[String(answer.status)] ?? operation.responses.default;
    if (!response) return `${what}, which the document does not list for ${operation.operationId} (it lists ${Object.keys(operation.responses).join(', ')})`;
    const where = ['paths', template, verb, 'responses', String(answer.status)];
    const bodyless = method === 'HEAD' || answer.unread === true;
    const problems = [...this.headerProblems(response, where, answer), ...this.contentProblems(response, where, answer, bodyless)];
    return problems.length ? `${what} (${operation.operationId}), not as the document says:\n  ${problems.join('\n  ')}` : undefined;
  }

  /** A path the document does not hold: only an error answer, in the API's error shape. */
  private unlisted(what: string, path: string, answer: Answer): string | undefined {
    if (/^\/docs\/(swagger-ui\.css|swagger-ui-bundle\.js|favicon-32x32\.png|starter-initializer\.js)$/.test(path) && answer.status < 400) return undefined; // the Swagger UI files the page loads
    if (answer.status < 400) return `${what}, but the document has no path for it`;
    return this.errorShape(what, answer);
  }

  /** A method the path does not take: OPTIONS 204 or 405, both with Allow, or an error from before routing (401, 429). */
  private otherMethod(what: string, pathItem: Json, answer: Answer): string | undefined {
    const listed = methods.filter((name) => name in pathItem);
    if ((answer.status === 204 || answer.status === 405) && !answer.headers.allow) return `${what} without an Allow header`;
    if (answer.status === 204) return undefined;
    if (answer.status < 400) return `${what}, but the document lists only ${listed.join(', ')} for it`;
    return this.errorShape(what, answer);
  }

  /** An answer no operation describes (node's parser refusing a request): an error in the error shape. */
  checkError(what: string, answer: Answer): string | undefined {
    return answer.status < 400 ? `${what}, which is no error` : this.errorShape(what, answer);
  }

  private errorShape(what: string, answer: Answer): string | undefined {
    if (answer.unread) return undefined;
    const body = jsonBody(answer);
    const problems = 'unparsed' in body ? [body.unparsed] : this.bodyProblems(pointer('components', 'schemas', 'Error'), body.json);
    return problems.length ? `${what}, not in the error shape: ${problems.join('; ')}` : undefined;
  }

  private headerProblems(response: Json, where: string[], answer: Answer): string[] {
    const problems: string[] = [];
    for (const [name, declared] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
      const ref = typeof declared.$ref === 'string' ? declared.$ref : undefined;
      const header = ref ? this.resolve(ref) : declared;
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required === true) problems.push(`header ${name} is required but missing`);
        continue;
      }
      const schemaAt = headerSchemaAt(declared, where, name);
      const schema = header.schema as Json | undefined;
      const text = String(value);
      const typed = schema?.type === 'integer' && /^-?\d+$/.test(text) ? Number(text) : text;
      problems.push(...this.bodyProblems(schemaAt, typed).map((problem) => `header ${name}: ${problem}`));
    }
    return problems;
  }

  private contentProblems(response: Json, where: string[], answer: Answer, bodyless: boolean): string[] {
    const content = response.content as Record<string, Json> | undefined;
    const type = String(answer.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!content) return !bodyless && answer.text ? [`a body (${type || 'no Content-Type'}) where the document declares none`] : [];
    if (!(type in content)) return [`Content-Type '${type}', the document declares ${Object.keys(content).join(', ')}`];
    if (bodyless) return [];
    if (!type.endsWith('json')) return this.bodyProblems(pointer(...where, 'content', type, 'schema'), textOf(answer));
    const body = jsonBody(answer);
    return 'unparsed' in body ? [body.unparsed] : this.bodyProblems(pointer(...where, 'content', type, 'schema'), body.json);
  }

  private validator(schemaAt: string): ValidateFunction {
    let validate = this.validators.get(schemaAt);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json${schemaAt}` });
      this.validators.set(schemaAt, validate);
    }
    return validate;
  }

  private bodyProblems(schemaAt: string, value: unknown): string[] {
    const validate = this.validator(schemaAt);
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '(the value)'} ${error.message ?? 'is not valid'} ${JSON.stringify(error.params)}`);
  }

  private resolve(ref: string): Json {
    return ref
      .slice(2)
      .split('/')
      .reduce<Json>((node, key) => node[decodeURIComponent(key).replaceAll('~1', '/').replaceAll('~0', '~')] as Json, this.document);
  }
}

/** How answers reached the tests: openapiHook.ts, rawAnswers.ts, docs.browser.test.ts. */
export type Via = 'supertest' | 'fetch' | 'raw' | 'browser';

/** What the hooks saw in this suite, for OPENAPI_CHECK_LOG. */
export const answerCounts = { checked: { supertest: 0, fetch: 0, raw: 0, browser: 0 } as Record<Via, number>, failed: 0, elsewhere: 0 };

/** Mismatches in answers to fetch, which a test may swallow with its own catch: the hook fails the test after it. */
export const fetchMismatches: string[] = [];

// Built as the suite loads (the hook imports this): its validators are never compiled inside a test's timing.
const shared = new ResponseChecker();
const portsElsewhere = new Set<string>();
const portOf = (url: string) => /^[a-z][a-z\d+.-]*:\/\/[^/?#]*:(\d+)/i.exec(url)?.[1];

/** Answers from this port are not the API's (a metrics server): counted elsewhere, never checked. */
export function notTheApi(port: number): void {
  portsElsewhere.add(String(port));
}

/** Whether the hooks check an answer from this URL: the API's paths, on a port that is not a metrics server's. */
export function covers(url: string): boolean {
  return !portsElsewhere.has(portOf(url) ?? '') && shared.covers(url);
}

/** Checks one answer (counting it), whichever way it came; returns the failure message, or undefined. */
export function checkAnswer(via: Via, method: string, url: string, answer: Answer): string | undefined {
  if (!covers(url)) {
    answerCounts.elsewhere += 1;
    return undefined;
  }
  answerCounts.checked[via] += 1;
  return failure(shared.check(method, url, answer));
}

/** Node's own refusal of what never became a request: no operation describes it; its body is the error shape. */
export function checkParserAnswer(answer: Answer): string | undefined {
  answerCounts.checked.raw += 1;
  return failure(shared.checkError(`node's parser answered ${answer.status}`, answer));
}

function failure(problem: string | undefined): string | undefined {
  if (!problem) return undefined;
  answerCounts.failed += 1;
  return `The answer does not match docs/openapi.json: ${problem}`;
}
