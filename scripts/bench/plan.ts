// How much of each workload a run does: --quick takes about 3 minutes on a 2-core machine.

export interface Plan {
  /** `ioMessages`: more warm messages, untimed, with strace counting SQLite opens, commits and fsyncs. */
  warm: { warmup: number; samples: number; pauseMs: number; ioMessages: number };
  cold: { chats: number };
  poll: { warmup: number; samples: number };
  /** Warm messages in a chat whose session already holds `exchanges` answered messages. */
  history: { exchanges: number; warmup: number; samples: number };
  throughput: { chats: number; messagesPerChat: number };
  /** Cold starts at once, one round per entry (50 at once is the throughput phase's first round). */
  starts: { rounds: number[] };
  idle: {
    sessions: number;
    /** 'create': createSessionFiles for every session; 'copy': one made so, copied for the rest. */
    seed: 'create' | 'copy';
    sweepTicks: number;
  };
  /** Commits watched per file watcher (fs.watch, chokidar). */
  watchers: { samples: number };
}

export const PLANS: Record<'quick' | 'full', Plan> = {
  quick: {
    warm: { warmup: 3, samples: 30, pauseMs: 25, ioMessages: 20 },
    cold: { chats: 3 },
    poll: { warmup: 0, samples: 5 },
    history: { exchanges: 5000, warmup: 1, samples: 8 },
    throughput: { chats: 50, messagesPerChat: 5 },
    starts: { rounds: [1, 10] },
    idle: { sessions: 10_000, seed: 'copy', sweepTicks: 20 },
    watchers: { samples: 100 },
  },
  full: {
    warm: { warmup: 20, samples: 300, pauseMs: 25, ioMessages: 50 },
    cold: { chats: 8 },
    poll: { warmup: 2, samples: 20 },
    history: { exchanges: 5000, warmup: 5, samples: 100 },
    throughput: { chats: 50, messagesPerChat: 8 },
    starts: { rounds: [1, 10] },
    idle: { sessions: 10_000, seed: 'create', sweepTicks: 50 },
    watchers: { samples: 300 },
  },
};

/** What a phase process is given. */
export interface PhaseContext {
  /** This phase's own data folder: a host of its own, with its own install id and containers. */
  dataDir: string;
  groupsDir: string;
  plan: Plan;
  /** Set by --profile: the throughput phase writes a CPU profile of its host here. */
  profileDir?: string;
}

/** Every wait for a reply gives up after this long (a cold start under load included). */
export const REPLY_TIMEOUT_MS = 120_000;
