// Lint rules: type-checked typescript-eslint, no floating promises, exhaustive switches, and a pure domain ring.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

const ioModules = [
  ...["fs", "fs/promises", "http", "https", "net", "child_process", "os", "dgram", "worker_threads"].flatMap(
    (m) => [m, `node:${m}`],
  ),
  ...["better-sqlite3", "winston", "node-cron", "express", "matrix-appservice-bridge", "livekit-server-sdk"],
  "prom-client",
];

export default defineConfig(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      ".tools/**",
      ".e2e/**",
      ".demo/**",
      "coverage/**",
      "local_modules/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.mjs", "*.js", "scripts/ci/*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    files: ["src/domain/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: ioModules.map((name) => ({ name, message: "The domain ring does no I/O." })) },
      ],
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "The domain takes time as an argument." },
        { object: "performance", property: "now", message: "The domain takes time as an argument." },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: "The domain takes time as an argument.",
        },
        {
          selector: "MemberExpression[object.name='process']",
          message: "The domain does not read the process.",
        },
        { selector: "MemberExpression[object.name='console']", message: "The domain does not log." },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: "The domain is deterministic.",
        },
      ],
    },
  },
  {
    files: ["src/cli/**/*.ts", "scripts/**/*.ts", "test/**/*.ts", "test/**/*.mts"],
    rules: { "no-console": "off" },
  },
  {
    files: ["test/**/*.ts", "test/**/*.mts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off", "@typescript-eslint/unbound-method": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        module: "writable",
        require: "readonly",
        __dirname: "readonly",
      },
    },
    rules: { "no-console": "off" },
  },
  { files: ["**/*.js"], languageOptions: { sourceType: "commonjs" } },
);
