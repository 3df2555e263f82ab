// The live feed (issue 7): websocket server and dashboard, what `azr replay` and `azr watch` run; what the rest of azr imports
// (their command-line options are in src/cli/commands/feed.ts).
export { startFeed, startReplayFeed, FeedConfigError } from './feedServer.js';
export type { FeedBus, FeedOptions, FeedServer, FeedServerStats } from './feedServer.js';
export type { FeedClientStats } from './feedConnection.js';
export { isLoopbackHost } from './feedAccess.js';
export { replayCommand, runLogPath } from './replayCommand.js';
export type { ReplayOptions } from './replayCommand.js';
export { watchCommand, feedUrl, DEFAULT_WATCH_URL, WATCH_TYPES } from './watchCommand.js';
export type { WatchOptions, TextOut } from './watchCommand.js';
export { FeedClient } from './feedClient.js';
export type { FeedClientOptions, FeedClientStatus, FeedClientEnd } from './feedClient.js';
export * from './protocol.js';
