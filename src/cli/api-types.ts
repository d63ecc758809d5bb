/**
 * The answers the CLI reads, as the routes declare them (src/http/answers.ts, shared with the console;
 * docs/adr/0011-route-declarations.md): renaming a field on the server fails `tsc` here. Type exports
 * only: the CLI never loads the HTTP layer (express, the routers) at run time; eslint.config.mjs
 * refuses a value import of src/http in src/cli.
 */
export type * from '../http/answers.js';
