// The wire contract shared by server and clients. Imports nothing of ours but itself.
export * from './api.js';
export * from './errors.js';
export * from './events.js';
export * from './scheduling.js';
export * from './spec.js';
export * from './tasks.js';
export * from './taskStatus.js';
export * from './webhooks.js';
