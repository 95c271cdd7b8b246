// The console is a Discord gateway client in ~150 lines: it identifies with the development token,
// learns guilds and channels from GUILD_CREATE, reads history over REST and appends live
// MESSAGE_CREATE dispatches for the chosen channel. Stats come from /api/console/stats.
const $ = (id) => document.getElementById(id);
const GUILDS = 1 << 0, GUILD_MESSAGES = 1 << 9, MESSAGE_CONTENT = 1 << 15;

const state = { guilds: new Map(), channel: undefined, seq: null, dispatches: 0, token: undefined };

function showError(text) { $('error').textContent = text; }

function renderMessage(m, live) {
  const li = document.createElement('li');
  li.dataset.id = m.id;
  if (live) li.className = 'live';
  const time = document.createElement('time');
  time.textContent = new Date(m.timestamp).toLocaleTimeString();
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = m.author?.global_name ?? m.author?.username ?? m.author?.id ?? '?';
  const content = document.createElement('span');
  content.className = 'content';
  content.textContent = m.content;
  li.append(time, author, content);
  return li;
}

function appendMessage(m, live) {
  const list = $('messages');
  if (list.querySelector(`li[data-id="${m.id}"]`)) return;
  list.append(renderMessage(m, live));
  while (list.children.length > 500) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

async function loadHistory(channelId) {
  $('messages').replaceChildren();
  const response = await fetch(`/api/v10/channels/${channelId}/messages?limit=50`, { headers: { Authorization: `Bot ${state.token}` } });
  if (!response.ok) return showError(`history: ${response.status} ${(await response.json()).message ?? ''}`);
  const page = await response.json();
  for (const m of page.reverse()) appendMessage(m, false);
}

function renderGuilds() {
  const select = $('guild');
  const chosen = select.value;
  select.replaceChildren(...[...state.guilds.values()].map((g) => new Option(g.name ?? g.id, g.id)));
  if (chosen) select.value = chosen;
  if (!chosen && select.options.length > 0) selectGuild(select.value);
}

function selectGuild(guildId) {
  const guild = state.guilds.get(guildId);
  const channels = (guild?.channels ?? []).filter((c) => c.type === 0 || c.type === undefined);
  $('channel').replaceChildren(...channels.map((c) => new Option(`#${c.name ?? c.id}`, c.id)));
  if (channels.length > 0) selectChannel(channels[0].id);
}

function selectChannel(channelId) {
  state.channel = channelId;
  $('channel').value = channelId;
  loadHistory(channelId).catch((e) => showError(String(e)));
}

function connect(config) {
  const ws = new WebSocket(`${config.gatewayUrl}?v=10&encoding=json`);
  let heartbeat;
  ws.onopen = () => ($('gateway-state').textContent = 'open');
  ws.onclose = (e) => {
    clearInterval(heartbeat);
    $('gateway-state').textContent = `closed (${e.code})`;
    setTimeout(() => connect(config), 2000);
  };
  ws.onmessage = (event) => {
    const { op, d, s, t } = JSON.parse(event.data);
    if (s != null) state.seq = s;
    if (op === 10) {
      heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: state.seq })), d.heartbeat_interval);
      ws.send(JSON.stringify({ op: 2, d: { token: config.token, intents: GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT, properties: { os: 'browser', browser: 'guildcast-console', device: 'guildcast-console' } } }));
    } else if (op === 0) {
      state.dispatches++;
      if (t === 'READY') $('gateway-state').textContent = 'ready';
      if (t === 'GUILD_CREATE' || t === 'GUILD_UPDATE') {
        state.guilds.set(d.id, { ...state.guilds.get(d.id), ...d });
        renderGuilds();
      }
      if (t === 'MESSAGE_CREATE' && d.channel_id === state.channel) appendMessage(d, true);
    } else if (op === 7 || op === 9) {
      ws.close(4000);
    }
  };
}

async function pollStats() {
  try {
    const stats = await (await fetch('/api/console/stats')).json();
    $('stat-rate').textContent = Math.round(stats.messagesPerSecond ?? 0);
    $('stat-lag').textContent = stats.consumerLag ?? '–';
    $('stat-sessions').textContent = stats.sessions ?? '–';
  } catch {
    /* the next poll will tell */
  }
}

async function main() {
  const config = await (await fetch('/api/console/config')).json();
  state.token = config.token;
  $('guild').onchange = (e) => selectGuild(e.target.value);
  $('channel').onchange = (e) => selectChannel(e.target.value);
  $('send').onsubmit = async (e) => {
    e.preventDefault();
    const content = $('content').value.trim();
    if (!content || !state.channel) return;
    const guildId = $('guild').value;
    const response = await fetch(`/api/v10/channels/${state.channel}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bot ${config.ingestToken}`, 'X-Guildcast-Guild-Id': guildId },
      body: JSON.stringify({ content }),
    });
    if (!response.ok) return showError(`send: ${response.status} ${(await response.json()).message ?? ''}`);
    $('content').value = '';
    showError('');
  };
  connect(config);
  setInterval(pollStats, 1000);
}

main().catch((e) => showError(String(e)));
