// Lints an OpenAPI file with @redocly/openapi-core (the engine of `redocly lint`), recommended
// rules; prints the problems as JSON. A script of its own: the package is ES modules only, which
// jest's module loader does not run.
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';

const file = process.argv[2];
const config = await createConfig({ extends: ['recommended'] });
const problems = await lintFromString({ source: readFileSync(file, 'utf8'), absoluteRef: file, config });
const where = (problem) => problem.location?.[0]?.pointer ?? '';
console.log(JSON.stringify(problems.map((problem) => ({ rule: problem.ruleId, severity: problem.severity, message: problem.message, where: where(problem) }))));
