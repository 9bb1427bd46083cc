// Runs with every test file: fails the file if it leaves a queue server running.
import { afterAll, expect } from 'vitest';
import { liveServers } from './testServer.js';

afterAll(() => {
  expect(liveServers.size, 'a test left a queue server running').toBe(0);
});
