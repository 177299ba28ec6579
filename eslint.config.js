// Lint rules, including the architecture's one-way dependency rule
// (DESIGN.md §1): dtab ← namer ← router; ioredis only inside namer/; dtab/
// pure (no I/O, no Node APIs, no packages). lib/ is shared plumbing (config
// loading, logging) that namer/ and router/ may both use.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Imports that climb into another top-level folder, e.g. "../router/x.ts" or "../../namer/y.ts". */
const into = (folder) => `^(\\.\\./)+${folder}`;

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".scratch/**"] },
  js.configs.recommended,
  {
    files: ["bin/**/*.js"],
    languageOptions: { globals: { process: "readonly" } },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["dtab/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^(?!\\.{1,2}/)", message: "dtab/ is pure: it imports nothing but its own files (no packages, no node: modules)." },
            { regex: into("(namer|router|cli|test|bench)(/|$)"), message: "dtab/ depends on nothing else in the project (dtab ← namer ← router)." },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        ...["process", "Buffer", "require", "__dirname", "__filename", "fetch", "setTimeout", "setInterval", "setImmediate"].map((name) => ({
          name,
          message: "dtab/ is pure: no I/O, timers or Node-only globals.",
        })),
      ],
    },
  },
  {
    files: ["lib/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "ioredis", message: "Only namer/ talks to Redis." }],
          patterns: [{ regex: into("(namer|router|cli)(/|$)"), message: "lib/ is shared plumbing below namer/ and router/: it imports only dtab/ and packages." }],
        },
      ],
    },
  },
  {
    files: ["namer/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: into("(router|cli)(/|$)"), message: "namer/ may import dtab/ only (dtab ← namer ← router)." },
          ],
        },
      ],
    },
  },
  {
    files: ["router/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "ioredis", message: "Only namer/ talks to Redis; the router learns everything from its config and the namer." }],
          patterns: [
            { regex: into("cli(/|$)"), message: "router/ must not import the CLI." },
            {
              regex: into("namer(/|$)(?!(client|wire|interpreter|namers)(/|\\.ts$))"),
              message: "router/ may use only the namer's client, wire types, interpreter and discovery namers — never its store, API or registry (Redis).",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["cli/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [{ name: "ioredis", message: "Only namer/ (and its tests) talk to Redis." }] }],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
