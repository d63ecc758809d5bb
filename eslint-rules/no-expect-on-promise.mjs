// `expect(store.get(id)).toBeDefined()` compiles and passes whatever the promise holds: a Promise is
// truthy, defined, never throws and is never `toBe` a plain value. This rule reports `expect(x)`
// where x's type is a thenable and the chain does not go through `.resolves` / `.rejects`, and
// `expect(fn).<…>toThrow…()` where fn returns a thenable (a rejected promise never throws).

const THROW_MATCHERS = new Set(["toThrow", "toThrowError", "toThrowErrorMatchingSnapshot", "toThrowErrorMatchingInlineSnapshot"]);

function isThenable(checker, type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((part) => {
    const apparent = checker.getApparentType(part);
    const then = apparent.getProperty("then");
    return then !== undefined && checker.getTypeOfSymbol(then).getCallSignatures().length > 0;
  });
}

function returnsThenable(checker, type) {
  const parts = type.isUnion() ? type.types : [type];
  return parts.some((part) => part.getCallSignatures().some((s) => isThenable(checker, s.getReturnType())));
}

/** `expect(x)` or `expect.soft(x)`. */
function isExpectCall(node) {
  const callee = node.callee;
  if (callee.type === "Identifier") return callee.name === "expect";
  return callee.type === "MemberExpression" && !callee.computed && callee.object.type === "Identifier" &&
    callee.object.name === "expect" && callee.property.type === "Identifier" && callee.property.name === "soft";
}

/** The property names chained onto `expect(x)`: ["not", "toBe"] for `expect(x).not.toBe(y)`. */
function chainAfter(node) {
  const names = [];
  let current = node;
  while (current.parent?.type === "MemberExpression" && current.parent.object === current && !current.parent.computed) {
    names.push(current.parent.property.name);
    current = current.parent;
  }
  return names;
}

export default {
  meta: {
    type: "problem",
    docs: { description: "disallow matchers on a Promise in expect() unless through .resolves / .rejects" },
    messages: {
      promise: "expect() got a Promise: `{{matcher}}` checks the Promise, not its value. Await it, or use .resolves / .rejects.",
      throwing: "expect() got a function returning a Promise: `{{matcher}}` never sees its rejection. Use `await expect(fn()).rejects…`.",
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (!services?.program) throw new Error("switchyard/no-expect-on-promise needs type information (parserOptions.projectService)");
    const checker = services.program.getTypeChecker();
    return {
      CallExpression(node) {
        if (!isExpectCall(node) || node.arguments.length !== 1) return;
        const chain = chainAfter(node);
        if (chain.length === 0 || chain[0] === "resolves" || chain[0] === "rejects") return;
        const matcher = chain.join(".");
        const type = services.getTypeAtLocation(node.arguments[0]);
        if (isThenable(checker, type)) {
          context.report({ node, messageId: "promise", data: { matcher } });
        } else if (THROW_MATCHERS.has(chain[chain.length - 1]) && returnsThenable(checker, type)) {
          context.report({ node, messageId: "throwing", data: { matcher } });
        }
      },
    };
  },
};
