// Switchyard's own ESLint rules (eslint.config.mjs turns them on; test/unit/eslint-rules.test.ts tests them).
import noExpectOnPromise from "./no-expect-on-promise.mjs";

export default { meta: { name: "switchyard" }, rules: { "no-expect-on-promise": noExpectOnPromise } };
