// js-yaml comes with eslint's dependencies and ships no types: the one function the tests use.
declare module 'js-yaml' {
  export function load(text: string): unknown;
}
