// The live feed (issue 7): websocket server and dashboard, `azr replay`, `azr watch`; what the rest of azr imports.
export { startFeed, startReplayFeed, FeedConfigError } from './feedServer.js';
export type { FeedBus, FeedOptions, FeedServer, FeedServerStats } from './feedServer.js';
export type { FeedClientStats } from './feedConnection.js';
export { isLoopbackHost } from './feedAccess.js';
export { replayCommand, runLogPath } from './replayCommand.js';
export type { ReplayOptions } from './replayCommand.js';
export { watchCommand, feedUrl, DEFAULT_WATCH_URL, WATCH_TYPES } from './watchCommand.js';
export type { WatchOptions, TextOut } from './watchCommand.js';
export {
  addFeedCommands,
  addReplayCommand,
  addWatchCommand,
  addFeedRunOptions,
  feedRunSettings,
  FEED_TOKEN_ENV,
} from './feedCommands.js';
export type { FeedRunSettings, ExitWith } from './feedCommands.js';
export { FeedClient } from './feedClient.js';
export type { FeedClientOptions, FeedClientStatus, FeedClientEnd } from './feedClient.js';
export * from './protocol.js';
