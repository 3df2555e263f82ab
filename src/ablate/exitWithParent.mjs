// Preloaded (`node --import`) into the `azr run` children of an `azr worker`: a run whose worker is gone (kill -9, a
// crash) ends at once, as it would have with its machine, instead of running on unseen; its job is redelivered and
// resumed from the last snapshot by another worker.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
