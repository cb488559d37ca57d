import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { openApiDocument } from '../src/openapi/document';

/** What the checker needs of an answer (supertest's Response has it). */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  text?: string;
}

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses: Record<string, Json>;
}

const pointer = (...keys: string[]) => '#' + keys.map((key) => '/' + encodeURIComponent(key.replaceAll('~', '~0').replaceAll('/', '~1'))).join('');

/** The JSON body, also where a test kept it as bytes (supertest's `.buffer(true).parse(...)`). */
/** The body as text: supertest's own, or what a test's parser made of it (a string or a Buffer). */
function textOf(answer: Answer): string | undefined {
  if (answer.text !== undefined) return answer.text;
  if (typeof answer.body === 'string') return answer.body;
  return Buffer.isBuffer(answer.body) ? answer.body.toString('utf8') : undefined;
}

function jsonBody(answer: Answer): { json: unknown } | { unparsed: string } {
  if (!Buffer.isBuffer(answer.body) && typeof answer.body !== 'string') return { json: answer.body };
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
    const path = new URL(url, 'http://localhost').pathname;
    return apiOwned(path) || this.templates.some((candidate) => candidate.pattern.test(path));
  }

  check(method: string, url: string, answer: Answer): string | undefined {
    const path = new URL(url, 'http://localhost').pathname;
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
    const problems = [...this.headerProblems(response, where, answer), ...this.contentProblems(response, where, answer, method === 'HEAD')];
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

  private errorShape(what: string, answer: Answer): string | undefined {
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

  private contentProblems(response: Json, where: string[], answer: Answer, head: boolean): string[] {
    const content = response.content as Record<string, Json> | undefined;
    const type = String(answer.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!content) return !head && answer.text ? [`a body (${type || 'no Content-Type'}) where the document declares none`] : [];
    if (!(type in content)) return [`Content-Type '${type}', the document declares ${Object.keys(content).join(', ')}`];
    if (head) return [];
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
