// Shared by the command shims: refuse to start on a Node.js older than the
// project supports, with a message that says what to do, and load the built
// entry point with a clear hint when `npm install` has not built it yet.
const MIN = [22, 12];

export function checkNode(command, version = process.versions.node) {
  const [major, minor] = version.split(".").map(Number);
  if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
    process.stderr.write(
      `${command}: Node.js ${MIN.join(".")} or newer is required (24 LTS recommended); this is v${version}.\n` +
        `  Install Node 24 (for example: npm install --prefix ~/.node24 node@24 && export PATH=~/.node24/node_modules/.bin:$PATH)\n`,
    );
    process.exit(1);
  }
}

export async function run(command, entry) {
  checkNode(command);
  try {
    await import(entry);
  } catch (e) {
    if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("/dist/")) {
      process.stderr.write(`${command}: the project is not built; run \`npm install\` (or \`npm run build\`) in the meshd checkout.\n`);
      process.exit(1);
    }
    throw e;
  }
}
