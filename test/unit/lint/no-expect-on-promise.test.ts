import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import rule from '../../../eslint-rules/no-expect-on-promise.mjs';

/**
 * switchyard/no-expect-on-promise (eslint.config.mjs): `expect(promise)` with any matcher but
 * .resolves / .rejects checks the Promise, not its value, so a forgotten `await` passes. The cases
 * run type-aware, as `make lint` does, on a file outside the projects (the default project).
 */
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tester = new RuleTester({
  languageOptions: {
    parser: tseslint.parser,
    parserOptions: {
      projectService: { allowDefaultProject: ['eslint-rule-case.ts'], defaultProject: 'tsconfig.json' },
      tsconfigRootDir: root,
    },
  },
});

const filename = path.join(root, 'eslint-rule-case.ts');
const prelude = `
declare function expect(x: unknown): any;
declare namespace expect { function soft(x: unknown): any; }
interface Store { get(id: string): Promise<{ id: string } | undefined>; peek(id: string): { id: string } | undefined }
declare const store: Store;
declare const maybe: Promise<number> | undefined;
declare const thenable: PromiseLike<number>;
declare const anything: any;
`;
const c = (code: string) => ({ name: code, code: prelude + code, filename });
const promise = (code: string) => ({ ...c(code), errors: [{ messageId: 'promise' as const }] });
const throwing = (code: string) => ({ ...c(code), errors: [{ messageId: 'throwing' as const }] });

tester.run('no-expect-on-promise', rule, {
  valid: [
    c(`async function t() { expect(await store.get('a')).toBeDefined(); }`),
    c(`async function t() { await expect(store.get('a')).resolves.toBeDefined(); }`),
    c(`async function t() { await expect(store.get('a')).rejects.toThrow('x'); }`),
    c(`async function t() { await expect(() => store.get('a')).rejects.toThrow('x'); }`),
    c(`expect(store.peek('a')).toBeDefined();`),
    c(`expect(() => store.peek('a')).not.toThrow();`),
    c(`expect(anything).toBeTruthy();`),
    c(`expect(store.get).toBeDefined();`),
  ],
  invalid: [
    promise(`expect(store.get('a')).toBeDefined();`),
    promise(`expect(store.get('a')).toBeTruthy();`),
    promise(`expect(store.get('a')).not.toBeUndefined();`),
    promise(`expect(store.get('a')).not.toBeNull();`),
    promise(`expect(store.get('a')).not.toBe(undefined);`),
    promise(`expect(store.get('a')).not.toEqual(undefined);`),
    promise(`expect(store.get('a')).toBeInstanceOf(Object);`),
    promise(`expect(store.get('a')).toMatchObject({});`),
    promise(`expect.soft(store.get('a')).toBeDefined();`),
    promise(`expect(maybe).toBeTruthy();`),
    promise(`expect(thenable).toBeDefined();`),
    throwing(`expect(() => store.get('a')).not.toThrow();`),
    throwing(`expect(async () => { await store.get('a'); }).not.toThrowError();`),
  ],
});

describe('eslint.config.mjs', () => {
  it('turns on, as errors, the promise rules and this one for src, test and bench, not for the console', async () => {
    const eslint = new ESLint({ cwd: root });
    const wanted = ['@typescript-eslint/no-floating-promises', '@typescript-eslint/no-misused-promises', '@typescript-eslint/await-thenable', 'switchyard/no-expect-on-promise'];
    for (const file of ['src/container.ts', 'test/helpers/domain.ts', 'bench/lib.ts']) {
      const config = (await eslint.calculateConfigForFile(path.join(root, file))) as { rules: Record<string, unknown[]> };
      for (const r of wanted) expect([file, r, config.rules[r]?.[0]]).toEqual([file, r, 2]);
    }
    const console = (await eslint.calculateConfigForFile(path.join(root, 'src/console/static/app.js'))) as { rules?: Record<string, unknown> } | undefined;
    for (const r of wanted) expect([r, console?.rules?.[r]]).toEqual([r, undefined]);
  });
});
