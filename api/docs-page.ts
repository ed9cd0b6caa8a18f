import { JSON_MEDIA_TYPE, OPENAPI_PATH, type OpenApiDocument } from './openapi.js';

/**
 * The API reference page (`GET /docs`): plain HTML made from the OpenAPI document, so it needs no
 * renderer from a CDN and reads without JavaScript. A small inline script adds "send": fill in the
 * parameters and body of an operation, give the token once, see the answer.
 */

type Json = Record<string, unknown>;

/** A field of the document that should be text; anything else shows as nothing. */
const text = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '');

const escape = (value: string): string =>
  value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

const REF_PREFIX = '#/components/schemas/';

/** A schema as indented JSON, its `$ref`s links to the component they name. */
function schemaBlock(schema: unknown): string {
  const text = escape(JSON.stringify(schema, null, 2));
  return `<pre class="schema">${text.replace(/&quot;#\/components\/schemas\/([A-Za-z0-9_.-]+)&quot;/g, (_all, name: string) => `&quot;<a href="#schema-${name}">${REF_PREFIX}${name}</a>&quot;`)}</pre>`;
}

function typeOf(schema: Json | undefined): string {
  if (!schema) return '';
  if (typeof schema.$ref === 'string') return schema.$ref.slice(REF_PREFIX.length);
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : text(schema.type) || (schema.enum ? 'enum' : 'any');
  const details = [Array.isArray(schema.enum) ? schema.enum.map(text).join(', ') : '', schema.pattern ? `pattern ${text(schema.pattern)}` : '', text(schema.format)]
    .filter(Boolean)
    .join('; ');
  return details ? `${type} (${details})` : type;
}

/** The schema's type, linked to its component when it names one. */
function typeLink(schema: Json): string {
  const type = escape(typeOf(schema));
  return typeof schema.$ref === 'string' ? `<a href="#schema-${type}">${type}</a>` : type;
}

function parametersTable(parameters: Json[], id: string): string {
  if (parameters.length === 0) return '';
  const rows = parameters.map((parameter) => {
    const name = text(parameter.name);
    const input = `<input data-param="${escape(text(parameter.in))}" data-name="${escape(name)}" form="${id}" placeholder="${escape(name)}">`;
    return `<tr><td><code>${escape(name)}</code>${parameter.required ? ' *' : ''}</td><td>${escape(text(parameter.in))}</td><td>${escape(typeOf(parameter.schema as Json))}</td><td>${input}</td></tr>`;
  });
  return `<table><tr><th>parameter</th><th>in</th><th>schema</th><th>value</th></tr>${rows.join('')}</table>`;
}

function operationSection(method: string, path: string, operation: Json): string {
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-');
  const body = (operation.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
  const bodySchema = body?.[JSON_MEDIA_TYPE]?.schema;
  const responses = Object.entries((operation.responses ?? {}) as Record<string, Json>).map(([status, response]) => {
    const content = Object.entries((response.content ?? {}) as Record<string, Json>)
      .map(([type, media]) => `${escape(type)}${media.schema ? `: ${typeLink(media.schema as Json)}` : ''}`)
      .join(', ');
    return `<tr><td>${escape(status)}</td><td>${escape(text(response.description))}</td><td>${content}</td></tr>`;
  });
  const secured = Array.isArray(operation.security) && operation.security.length > 0;
  return `<section id="op-${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code> ${secured ? '' : '<small>(no token needed)</small>'}</h3>
<p>${escape(text(operation.summary))}</p>${operation.description ? `<p>${escape(text(operation.description))}</p>` : ''}
${parametersTable((operation.parameters ?? []) as Json[], id)}
${bodySchema ? `<details><summary>request body${(operation.requestBody as Json).required ? ' *' : ''}</summary>${schemaBlock(bodySchema)}</details>` : ''}
<table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses.join('')}</table>
<form id="${id}" class="try" data-method="${method}" data-path="${escape(path)}">
${bodySchema ? '<textarea name="body" rows="4" placeholder="JSON body"></textarea>' : ''}<button>send</button><pre class="answer"></pre>
</form>
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
code,pre,textarea,input{font:13px ui-monospace,monospace}pre{background:#f4f5f7;padding:.6rem;overflow:auto;max-height:24rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #d8dbe2;padding:.2rem .5rem;text-align:left;vertical-align:top}
section{border-top:1px solid #d8dbe2;padding:.5rem 0}.method{padding:0 .4rem;border-radius:3px;color:#fff;background:#4b5568}
.answer:empty{display:none}.get{background:#2f6fb0}.post{background:#2f8a4c}.patch{background:#a8701b}.delete{background:#b03a2f}textarea{width:100%}`;

/** Sends an operation's form with the token from the box at the top (kept in this tab only). */
const SCRIPT = `const token = document.getElementById('token');
token.value = sessionStorage.getItem('ao-docs-token') || '';
token.addEventListener('change', () => sessionStorage.setItem('ao-docs-token', token.value));
for (const form of document.querySelectorAll('form.try')) form.addEventListener('submit', async (event) => {
  event.preventDefault();
  let path = form.dataset.path;
  const query = new URLSearchParams();
  for (const input of document.querySelectorAll('input[form="' + form.id + '"]')) {
    if (input.dataset.param === 'path') path = path.replace('{' + input.dataset.name + '}', encodeURIComponent(input.value));
    else if (input.value) query.set(input.dataset.name, input.value);
  }
  const body = form.elements.body ? form.elements.body.value : '';
  const headers = token.value ? { authorization: 'Bearer ' + token.value } : {};
  if (body) headers['content-type'] = '${JSON_MEDIA_TYPE}';
  const answer = form.querySelector('.answer');
  try {
    const response = await fetch(path + (query.size ? '?' + query : ''), { method: form.dataset.method.toUpperCase(), headers, body: body || undefined });
    answer.textContent = response.status + ' ' + response.statusText + '\\n' + (await response.text()).slice(0, 20000);
  } catch (error) { answer.textContent = String(error); }
});`;

export function renderDocsPage(document: OpenApiDocument): string {
  const paths = Object.entries((document.paths ?? {}) as Record<string, Record<string, Json>>).sort(([a], [b]) => a.localeCompare(b));
  const operations = paths.flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => operationSection(method, path, operation)));
  const schemas = Object.entries((document.components?.schemas ?? {}) as Record<string, unknown>).map(
    ([name, schema]) => `<details id="schema-${escape(name)}"><summary><code>${escape(name)}</code></summary>${schemaBlock(schema)}</details>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(document.info.title)} API ${escape(document.info.version)}</title><style>${STYLE}</style></head>
<body>
<h1>${escape(document.info.title)} API <small>${escape(document.info.version)}</small></h1>
<p>${escape(document.info.description ?? '')}</p>
<p>The machine-readable document: <a href="${OPENAPI_PATH}">${OPENAPI_PATH}</a> (OpenAPI ${escape(document.openapi)}).</p>
<p><label>Token for "send": <input id="token" type="password" size="40" autocomplete="off"></label></p>
<h2>Operations</h2>
${operations.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
<script>${SCRIPT}</script>
</body></html>`;
}
