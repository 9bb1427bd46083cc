// Runs with every test file: fails the file if it leaves a queue server running.
import { afterAll, expect } from 'vitest';
import { liveProcesses } from './serverProcess.js';
import { liveServers } from './testServer.js';

afterAll(() => {
  expect(liveServers.size, 'a test left a queue server running').toBe(0);
  expect(liveProcesses.size, 'a test left a server process running').toBe(0);
});
