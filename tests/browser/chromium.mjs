// Debian's Chromium, headless, driven by playwright-core from web/node_modules: what the
// browser tests share. `launch(name)` exits with a message naming the test when
// playwright-core is missing.

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch(name) {
  let playwright;
  try {
    playwright = await import(new URL('../../web/node_modules/playwright-core/index.mjs', import.meta.url));
  } catch (error) {
    console.error(`${name}: cannot load playwright-core (${error.message}); run \`npm ci --prefix web\` first`);
    process.exit(1);
  }
  return playwright.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--autoplay-policy=no-user-gesture-required'],
  });
}
