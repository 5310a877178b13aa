// pm2 process file for the content-recommendation miner.
//
//   pm2 start contrib/ecosystem.config.js          # edit the args below first
//   pm2 install pm2-logrotate                       # log rotation (see README)
//   pm2 logs content-miner
//
// The miner stops its axon and both modules on SIGINT/SIGTERM within 10 s; kill_timeout gives it
// 15 s before pm2 sends SIGKILL (pm2's default, 1.6 s, would cut the shutdown short). treekill is
// off: pm2 signals the miner alone, and the miner stops its modules itself (with pm2's default tree
// kill every module got pm2's SIGINT and then the miner's SIGTERM).
module.exports = {
  apps: [
    {
      name: "content-miner",
      cwd: __dirname + "/..",
      script: "neurons/miner.py",
      interpreter: __dirname + "/../.venv/bin/python",
      interpreter_args: "-u", // unbuffered: every line reaches pm2's log at once
      args: [
        "--netuid", "1",
        "--wallet.name", "miner",
        "--wallet.hotkey", "default",
        "--subtensor.network", "finney",
        "--axon.port", "8091",
        "--data-dir", process.env.HOME + "/.content-miner",
        // "--mock",  // offline trial run: mock chain, wallets in the data dir
      ],
      env: {
        PYTHONUNBUFFERED: "1",
        PYTHONDONTWRITEBYTECODE: "1",
        // X_BEARER_TOKEN: "...",  // live X scraping (Module 1)
      },
      autorestart: true,
      kill_timeout: 15000,
      treekill: false,
      exp_backoff_restart_delay: 1000, // 1 s, then x1.5 per restart (1.5 s, 2.25 s, ...) up to 15 s; reset after 30 s up
      max_restarts: 50,
      min_uptime: "30s",
      max_memory_restart: "2G", // the miner's RSS is ~110 MB; its modules (children) are not counted
      log_date_format: "YYYY-MM-DD HH:mm:ss.SSS Z",
      merge_logs: true,
    },
  ],
};
