import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { repoRoot } from '../core/config/paths.js';
import { TEMPORAL_SERVER_VERSION } from '../temporal-config/server-binaries.js';
import { SERVER_CONFIG_ENV, SERVER_CONFIG_TEMPLATE, templateVariables } from '../temporal-config/server-config.js';
import { SERVER_SCHEMAS } from '../temporal-config/server-schema.js';

// Docker does not run on this machine or in CI: the compose file and the Dockerfile are checked statically.

const Healthcheck = z.object({ test: z.array(z.string()).min(2), interval: z.string(), timeout: z.string(), retries: z.number(), start_period: z.string().optional() }).strict();
const DependsOn = z.record(z.string(), z.object({ condition: z.enum(['service_healthy', 'service_completed_successfully']) }).strict());
/** The keys this compose file uses; an unknown (or misspelt) key fails the parse. */
const Service = z
  .object({
    image: z.string(),
    build: z.object({ context: z.string(), dockerfile: z.string(), target: z.string() }).strict().optional(),
    hostname: z.string().optional(),
    depends_on: DependsOn.optional(),
    entrypoint: z.array(z.string()).optional(),
    command: z.array(z.string()).optional(),
    environment: z.record(z.string(), z.string()).optional(),
    volumes: z.array(z.string()).optional(),
    ports: z.array(z.string().regex(/^127\.0\.0\.1:\d+:\d+$/, 'ports are published on 127.0.0.1 only')).optional(),
    healthcheck: Healthcheck.optional(),
    restart: z.enum(['unless-stopped', 'on-failure']),
    stop_grace_period: z.string().optional(),
  })
  .strict();
type Service = z.infer<typeof Service>;
const Compose = z
  .object({
    name: z.string(),
    services: z.record(z.string(), Service),
    volumes: z.record(z.string(), z.null()),
  })
  .catchall(z.unknown());

let compose: z.infer<typeof Compose>;
let readme: string;
let productionSection: string;
beforeAll(async () => {
  // Compose files share settings through YAML merge keys (`<<: *anchor`).
  compose = Compose.parse(parse(await fs.readFile(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }));
  readme = await fs.readFile(path.join(repoRoot, 'README.md'), 'utf8');
  productionSection = readme.slice(readme.indexOf('## Production'), readme.indexOf('## Benchmarks'));
});

const services = (): Array<[string, Service]> => Object.entries(compose.services);
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};
/** `source:target[:mode]`; a source that starts with `.` is a bind mount from the checkout, else a named volume. */
const mounts = (entry: Service): Array<{ source: string; target: string; bind: boolean }> =>
  (entry.volumes ?? []).map((volume) => {
    const [source, target] = volume.split(':');
    return { source: source!, target: target!, bind: source!.startsWith('.') };
  });
const exists = (file: string): Promise<boolean> => fs.stat(file).then(() => true, () => false);

describe('docker-compose.yml', () => {
  it('has the production topology: Temporal on PostgreSQL, its UI, ao in one image, PostgreSQL for events, a runner', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['ao-api', 'ao-control', 'ao-postgresql', 'ao-runner', 'temporal', 'temporal-namespace', 'temporal-postgresql', 'temporal-schema', 'temporal-ui'].sort(),
    );
    expect(service('ao-api').image).toBe(service('ao-control').image);
    expect(service('ao-api').build).toEqual(service('ao-control').build);
    expect(service('ao-api').environment?.DATABASE_URL).toMatch(/^postgres:\/\/ao:.*@ao-postgresql:5432\/ao$/);
    expect(service('temporal').environment?.TEMPORAL_SERVER_DB_HOST).toBe('temporal-postgresql');
  });

  it('pins every image, and runs the server version that CI builds from source', () => {
    for (const [name, entry] of services()) expect(entry.image, name).toMatch(/:(?!latest$)[\w.-]+$/);
    const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
    expect(service('temporal').image).toBe(`temporalio/server:${version}`);
    expect(service('temporal-schema').image).toMatch(new RegExp(`^temporalio/admin-tools:${version.replaceAll('.', '\\.')}-`));
  });

  it('orders start-up on health checks and finished one-shot jobs that exist', () => {
    for (const [name, entry] of services()) {
      for (const [dependency, { condition }] of Object.entries(entry.depends_on ?? {})) {
        const target = service(dependency);
        if (condition === 'service_healthy') expect(target.healthcheck, `${name} waits for ${dependency} to be healthy`).toBeDefined();
        else expect(target.restart, `${dependency} is a one-shot job`).toBe('on-failure');
      }
    }
  });

  it('gives a health check to every service that listens or that others wait on', () => {
    const awaited = new Set(services().flatMap(([, entry]) => Object.entries(entry.depends_on ?? {}).filter(([, d]) => d.condition === 'service_healthy').map(([name]) => name)));
    for (const [name, entry] of services()) {
      if (entry.ports || awaited.has(name)) expect(entry.healthcheck, name).toBeDefined();
    }
  });

  it('keeps state in named volumes that are declared, and mounts files that exist', async () => {
    const used = new Set<string>();
    for (const [name, entry] of services()) {
      for (const mount of mounts(entry)) {
        if (mount.bind) expect(await exists(path.join(repoRoot, mount.source)), `${name} mounts ${mount.source}`).toBe(true);
        else {
          expect(Object.keys(compose.volumes), `${name} uses volume ${mount.source}`).toContain(mount.source);
          used.add(mount.source);
        }
      }
    }
    expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
  });

  it('starts the Temporal server with the template and dynamic config of temporal-config/', () => {
    const temporal = service('temporal');
    const entrypoint = temporal.entrypoint ?? [];
    const configDir = entrypoint[entrypoint.indexOf('--config') + 1]!;
    expect(entrypoint[entrypoint.indexOf('--env') + 1]).toBe(SERVER_CONFIG_ENV);
    const targets = Object.fromEntries(mounts(temporal).map((mount) => [mount.target, mount.source]));
    expect(targets[`${configDir}/${SERVER_CONFIG_ENV}.yaml`]).toBe(`./${path.relative(repoRoot, SERVER_CONFIG_TEMPLATE)}`);
    expect(targets[temporal.environment!.TEMPORAL_SERVER_DYNAMIC_CONFIG!]).toBe('./temporal-config/dynamic-config.yaml');
  });

  it('sets only variables the server template reads, and all it requires', async () => {
    const known = templateVariables(await fs.readFile(SERVER_CONFIG_TEMPLATE, 'utf8'));
    const given = Object.keys(service('temporal').environment ?? {});
    expect(known).toEqual(expect.arrayContaining(given));
    expect(given).toEqual(expect.arrayContaining(['TEMPORAL_SERVER_DB_HOST', 'TEMPORAL_SERVER_DB_USER', 'TEMPORAL_SERVER_DYNAMIC_CONFIG']));
  });

  it('sets up the same schemas as the launcher without Docker', async () => {
    const script = service('temporal-schema').entrypoint!.at(-1)!;
    const source = mounts(service('temporal-schema')).find((mount) => mount.target === script)!.source;
    const text = await fs.readFile(path.join(repoRoot, source), 'utf8');
    for (const schema of Object.values(SERVER_SCHEMAS)) expect(text).toContain(schema);
  });

  it('runs ao entry points that exist', async () => {
    for (const [name, entry] of services()) {
      for (const script of (entry.command ?? []).filter((arg) => arg.endsWith('.ts'))) {
        expect(await exists(path.join(repoRoot, script)), `${name} runs ${script}`).toBe(true);
      }
    }
  });

  it('documents every setting and published port in the README', async () => {
    const variables = new Set(services().flatMap(([, entry]) => Object.keys(entry.environment ?? {})));
    variables.add('AO_API_TOKEN');
    for (const variable of [...variables].filter((name) => !name.startsWith('TEMPORAL_SERVER_'))) {
      expect(productionSection, variable).toContain(`\`${variable}\``);
    }
    // The server's variables have a table of their own: every one the template reads.
    for (const variable of templateVariables(await fs.readFile(SERVER_CONFIG_TEMPLATE, 'utf8'))) expect(productionSection, variable).toContain(`\`${variable}\``);
    for (const [name, entry] of services()) {
      expect(productionSection, name).toContain(`\`${name}\``);
      for (const port of entry.ports ?? []) expect(productionSection, `${name} ${port}`).toMatch(new RegExp(`(127\\.0\\.0\\.1|localhost):${port.split(':')[1]}\\b`));
    }
  });
});

describe('the Dockerfile', () => {
  let dockerfile: string;
  beforeAll(async () => {
    dockerfile = await fs.readFile(path.join(repoRoot, 'Dockerfile'), 'utf8');
  });

  it('has the stage every service builds', () => {
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((match) => match[1]);
    for (const [name, entry] of services()) if (entry.build) expect(stages, name).toContain(entry.build.target);
  });

  it('copies only files that exist in the build context and are not ignored', async () => {
    for (const [, entry] of services()) if (entry.build) expect(await exists(path.join(repoRoot, entry.build.context, entry.build.dockerfile))).toBe(true);
    const ignored = (await fs.readFile(path.join(repoRoot, '.dockerignore'), 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'));
    const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.split(/\s+/));
    expect(copies.length).toBeGreaterThan(5);
    for (const source of copies) {
      expect(await exists(path.join(repoRoot, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
  });

  it('starts ao entry points that exist', async () => {
    for (const match of dockerfile.matchAll(/^CMD (\[.*\])$/gm)) {
      const script = (JSON.parse(match[1]!) as string[]).find((arg) => arg.endsWith('.ts'))!;
      expect(await exists(path.join(repoRoot, script)), script).toBe(true);
    }
  });
});
