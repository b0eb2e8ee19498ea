// Many conversations at once: every chat sends its messages one at a time (waiting for each reply),
// all chats in parallel, with the container cap raised so each chat gets its own container.
import { performance } from 'node:perf_hooks';
import { expectEcho, type ChatClient, type ReplyTiming } from './chat-client.ts';
import { startBenchHost, stopFigures, type StopReport } from './host.ts';
import { rssAfterGcMb } from './memory.ts';
import { REPLY_TIMEOUT_MS, type PhaseContext } from './plan.ts';
import { progress } from './progress.ts';
import { round, summarize } from './stats.ts';

export async function throughputPhase(ctx: PhaseContext) {
  const { chats: chatCount, messagesPerChat } = ctx.plan.throughput;
  const cap = chatCount;
  const bench = await startBenchHost({ dataDir: ctx.dataDir, groupsDir: ctx.groupsDir, maxContainers: cap });
  progress(`host started in ${bench.startMs.toFixed(0)} ms; container cap ${cap}`);
  let run: Awaited<ReturnType<typeof runChats>>;
  let rssMb: number;
  let stop: StopReport;
  try {
    const chats = await Promise.all(Array.from({ length: chatCount }, (_, i) => bench.chat(`tp-${i}`)));
    progress(`throughput: ${chatCount} chats x ${messagesPerChat} messages, chats in parallel`);
    run = await runChats(chats, messagesPerChat);
    rssMb = await rssAfterGcMb();
    progress(`  host process RSS with ${chatCount} sessions running: ${rssMb} MB; stopping the host`);
  } finally {
    stop = await bench.stop();
  }
  progress(`  host stopped in ${(stop.ms / 1000).toFixed(1)} s`);
  const total = chatCount * messagesPerChat;
  const totalS = (run.finished - run.started) / 1000;
  const firstRoundS = (run.opened - run.started) / 1000;
  return {
    throughput: {
      msgs_per_s: round(total / totalS),
      measured:
        'first POST sent -> last reply delivered (onDelivered); each chat sends one message at a time, ' +
        'all chats in parallel, so the container start of every chat is included',
      sessions: chatCount,
      messages_per_session: messagesPerChat,
      total_messages: total,
      container_cap: cap,
      total_s: round(totalS, 2),
      first_round_s: round(firstRoundS, 2),
      first_round: summarize(run.first.map((r) => r.deliveredMs)),
      ...(run.rest.length > 0
        ? {
            warm_msgs_per_s: round(run.rest.length / ((run.finished - run.opened) / 1000)),
            warm_latency: summarize(run.rest.map((r) => r.deliveredMs)),
          }
        : {}),
      host_process_cpu_share: round(run.cpuShare, 3),
      ...stopFigures(stop),
    },
    memory: {
      host_rss_mb: rssMb,
      measured: `RSS after a GC of the process running the host (and its load generator), ${chatCount} sessions running`,
    },
  };
}

/** First message of every chat together (every container starts), then the rest chat by chat. */
async function runChats(chats: ChatClient[], messagesPerChat: number) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const first = await Promise.all(chats.map((chat) => send(chat, 0)));
  const opened = performance.now();
  progress(`  every chat answered its first message after ${((opened - started) / 1000).toFixed(1)} s`);
  const rest = (
    await Promise.all(
      chats.map(async (chat) => {
        const replies: ReplyTiming[] = [];
        for (let j = 1; j < messagesPerChat; j++) replies.push(await send(chat, j));
        return replies;
      }),
    )
  ).flat();
  const finished = performance.now();
  progress(`  ${chats.length * messagesPerChat} replies in ${((finished - started) / 1000).toFixed(1)} s`);
  const used = process.cpuUsage(cpu);
  const cpuShare = (used.user + used.system) / 1000 / (finished - started);
  return { started, opened, finished, first, rest, cpuShare };
}

async function send(chat: ChatClient, j: number): Promise<ReplyTiming> {
  return expectEcho(await chat.send(`message ${j}`, REPLY_TIMEOUT_MS), `message ${j}`);
}
