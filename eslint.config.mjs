// ESLint runs for one purpose: guard the async storage port (#15) against a forgotten `await`.
// Only the promise rules are on (type-aware); style is tsc's and STYLE.md's business, not ESLint's.
import tseslint from "typescript-eslint";
import switchyard from "./eslint-rules/index.mjs";

export default tseslint.config(
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    ignores: ["src/console/static/**"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    plugins: { "@typescript-eslint": tseslint.plugin, switchyard },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "switchyard/no-expect-on-promise": "error",
    },
  },
  // The CLI reads the declared answers' types (src/cli/api-types.ts) but never loads the HTTP
  // layer: express and the routers stay out of `switchyard` at run time (#17, ADR 0011).
  {
    files: ["src/cli/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/http/*", "express"], allowTypeImports: true, message: "the CLI may import only types from the HTTP layer (src/cli/api-types.ts)" },
          ],
        },
      ],
    },
  },
);
