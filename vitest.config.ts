import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // e2e cases spawn several CLI runs each; on a 2-core CI machine running two files at once a
    // case can take minutes without anything being wrong.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    pool: 'forks',
    // Two cores here: integration suites spawn their own processes and databases.
    maxWorkers: 2,
    reporters: ['default'],
    // Tests never reach the network: a stage's missing model is reported, not downloaded from
    // huggingface.co (the download tests turn it on against a local server).
    env: { IMMICH_MODELS_AUTO_DOWNLOAD: '0' },
  },
});
