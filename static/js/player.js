// The player bar (templates/playback/partials/player.html): follows the user's playback session
// over Server-Sent Events, sends the user's controls, and plays the audio when this browser is the
// session's speaker. The server keeps the timeline; this page only projects it forward
// (position_ms + time since server_time, on the server's clock) and asks for changes.
(() => {
  "use strict";

  const root = document.querySelector("[data-player]");
  if (!root) return;

  const DEVICE_KEY = "encore.player.device";
  const VOLUME_KEY = "encore.player.volume";
  const HEARTBEAT_MS = 20_000;
  const DRIFT_MS = 1_000; // the audio is moved only when it is further than this from the session
  const SEEK_STEP_MS = 10_000;
  const MESSAGE_MS = 6_000;
  const ID = /^[A-Za-z0-9_-]{8,64}$/;

  const part = (name) => root.querySelector(`[data-player-${name}]`);
  const urls = root.dataset;
  const audio = part("audio");
  const seek = part("seek");
  const volume = part("volume");
  const playButton = part("play");

  // --- Small helpers --------------------------------------------------------------------------

  const storage = {
    get(key) {
      try {
        return window.localStorage.getItem(key);
      } catch {
        return null; // storage refused (privacy settings): this page still works
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(key, value);
      } catch {
        /* not remembered, nothing else lost */
      }
    },
  };

  // Random hex ids; crypto.randomUUID() exists only on https or localhost, getRandomValues always.
  function randomId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function clock(ms) {
    const total = Math.max(0, Math.floor((ms || 0) / 1000));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch {
      return "";
    }
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(body),
    });
  }

  let messageTimer = 0;
  function say(text, { error = false } = {}) {
    const message = part("message");
    message.textContent = text;
    message.classList.toggle("bad", error);
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => {
      message.textContent = "";
    }, MESSAGE_MS);
  }

  // --- This device ----------------------------------------------------------------------------

  const deviceId = (() => {
    const known = storage.get(DEVICE_KEY);
    if (known && ID.test(known)) return known;
    const made = randomId();
    storage.set(DEVICE_KEY, made);
    return made;
  })();

  function deviceName() {
    const ua = navigator.userAgent;
    const browser = /Edg\//.test(ua)
      ? "Edge"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /Chrome\//.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : "Browser";
    const system = /Android/.test(ua)
      ? "Android"
      : /iPhone|iPad/.test(ua)
        ? "iOS"
        : /Mac OS X/.test(ua)
          ? "macOS"
          : /Windows/.test(ua)
            ? "Windows"
            : /Linux/.test(ua)
              ? "Linux"
              : "";
    // Two browsers of the same kind would look alike in the device picker: the id tells them apart.
    return `${browser}${system ? ` on ${system}` : ""} (${deviceId.slice(0, 4)})`;
  }

  async function register() {
    try {
      const response = await postJSON(urls.devicesUrl, {
        id: deviceId,
        name: deviceName(),
        platform: navigator.userAgentData?.platform || navigator.platform || "",
      });
      return response.ok;
    } catch {
      return false; // offline: the next heartbeat tries again
    }
  }

  // --- The session as last heard, and the server's clock ---------------------------------------

  let snap = null;
  let offset = 0; // the server's clock minus this browser's, in ms
  let offsetTrip = Infinity; // the round trip of the sample `offset` came from

  // The server read its clock somewhere within the round trip: the middle is the best guess, and
  // the shortest trip the best sample. Samples age, so a changed clock is picked up again.
  function measure(serverTime, sentAt, receivedAt) {
    offsetTrip += 50;
    const trip = receivedAt - sentAt;
    if (trip <= offsetTrip) {
      offset = serverTime - (sentAt + receivedAt) / 2;
      offsetTrip = trip;
    }
  }

  function duration() {
    return snap?.track?.duration_ms || 0;
  }

  function position() {
    if (!snap?.track) return 0;
    let at = snap.position_ms;
    if (snap.state === "playing") at += Date.now() + offset - snap.server_time;
    at = Math.max(0, at);
    return duration() ? Math.min(at, duration()) : at;
  }

  function apply(data) {
    if (!data || typeof data.rev !== "number") return;
    if (snap && data.rev < snap.rev) return; // an answer overtaken by a newer one
    snap = data;
    render();
    syncAudio();
  }

  let refreshing = null;
  let refreshAgain = false;
  let refreshRetry = 0;
  let refreshFailures = 0;

  // Fetch the snapshot; calls while one is out make one more fetch after it, not one each.
  function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return refreshing;
    }
    clearTimeout(refreshRetry);
    refreshing = (async () => {
      do {
        refreshAgain = false;
        const sentAt = Date.now();
        try {
          const response = await fetch(urls.snapshotUrl, {
            credentials: "same-origin",
            cache: "no-store",
            headers: { Accept: "application/json" },
          });
          if (response.redirected || response.status === 403) {
            say("Signed out: sign in again to use the player.", { error: true });
            return;
          }
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const data = await response.json();
          measure(data.server_time, sentAt, Date.now());
          refreshFailures = 0;
          apply(data);
        } catch {
          refreshFailures += 1;
          const wait = Math.min(15_000, 1_000 * 2 ** Math.min(refreshFailures - 1, 4));
          refreshRetry = setTimeout(refresh, wait);
          return;
        }
      } while (refreshAgain);
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  // --- Following the session: /events -----------------------------------------------------------

  let source = null;
  let reconnectTimer = 0;
  let reconnectFailures = 0;

  function connected(yes) {
    part("status").hidden = yes;
    root.classList.toggle("player-offline", !yes);
  }

  function follow() {
    source = new EventSource(urls.eventsUrl);
    source.addEventListener("open", () => {
      reconnectFailures = 0;
      connected(true);
    });
    source.addEventListener("snapshot", (event) => {
      const data = JSON.parse(event.data);
      if (offsetTrip === Infinity) {
        // No measured sample yet: take the stream's (sent as it was made) until a fetch's comes.
        offset = data.server_time - Date.now();
        offsetTrip = 2_000;
      }
      apply(data);
    });
    source.addEventListener("change", (event) => {
      const change = JSON.parse(event.data);
      if (!snap || change.rev > snap.rev) refresh();
    });
    source.addEventListener("error", () => {
      connected(false);
      // EventSource retries by itself, except after a refusal (signed out, server gone): then
      // start again here, less and less often.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        reconnectFailures += 1;
        clearTimeout(reconnectTimer);
        reconnectTimer = setTimeout(follow, Math.min(30_000, 2_000 * reconnectFailures));
      }
    });
  }

  // --- Controls ---------------------------------------------------------------------------------

  function controlUrl(action) {
    return urls.controlUrl.replace("ACTION", encodeURIComponent(action));
  }

  // Send one control; its event id is sent again on a retry, so the server applies it once.
  async function control(action, body = {}, { device = deviceId } = {}) {
    await registered;
    const payload = { ...body, device, event_id: randomId() };
    for (let attempt = 0; ; attempt += 1) {
      const sentAt = Date.now();
      let response;
      try {
        response = await postJSON(controlUrl(action), payload);
      } catch {
        if (attempt < 2) {
          await sleep(600 * (attempt + 1));
          continue;
        }
        say("Encore cannot be reached: check the connection.", { error: true });
        return null;
      }
      const data = await response.json().catch(() => null);
      if (response.ok && data) {
        measure(data.server_time, sentAt, Date.now());
        apply(data);
        return data;
      }
      if (response.status >= 502 && attempt < 2) {
        await sleep(600 * (attempt + 1));
        continue;
      }
      const error = data?.error || `That did not work (HTTP ${response.status}).`;
      if (device === deviceId && error.startsWith("Unknown device") && attempt === 0) {
        await register(); // forgotten by the server (or never heard of): say hello again
        continue;
      }
      say(error, { error: true });
      return null;
    }
  }

  function playPause() {
    if (!snap?.track) return;
    control(snap.state === "playing" ? "pause" : "resume");
  }

  function seekTo(ms) {
    if (!snap?.track) return;
    const end = duration();
    control("seek", { position_ms: Math.round(Math.max(0, end ? Math.min(ms, end) : ms)) });
  }

  function like() {
    if (snap?.track) control(snap.liked ? "unlike" : "like", { track: snap.track.id });
  }

  function shuffle() {
    if (snap) control("shuffle", { on: !snap.shuffle });
  }

  const REPEAT_NEXT = { off: "all", all: "one", one: "off" };
  function repeat() {
    if (snap) control("repeat", { mode: REPEAT_NEXT[snap.repeat] || "off" });
  }

  // --- The audio: only on the speaker -----------------------------------------------------------

  let audioTrack = null; // the track whose media URL audio.src holds
  let tokenAt = 0;
  let tokenSeconds = 0;
  let syncGeneration = 0;
  let syncRetry = 0;
  const audioErrors = [];

  // Another tab of this browser is the same device: only one of them plays (the newest claim).
  const tabId = randomId();
  const tabs = "BroadcastChannel" in window ? new BroadcastChannel("encore-player") : null;
  let claimedAt = 0;
  let anotherTabPlays = false;

  function isSpeaker() {
    return Boolean(snap) && snap.active_device === deviceId && !anotherTabPlays;
  }

  function dropAudio() {
    audioTrack = null;
    audio.pause();
    if (audio.hasAttribute("src")) {
      audio.removeAttribute("src");
      audio.load();
    }
  }

  function prompt(show) {
    part("prompt").hidden = !show;
  }

  function tokenStale() {
    return Date.now() - tokenAt > Math.max(0, tokenSeconds - 10) * 1000;
  }

  async function mediaUrl(trackId) {
    let response;
    let data = null;
    try {
      response = await postJSON(urls.tokenUrl, { device: deviceId, track: trackId });
      data = await response.json().catch(() => null);
    } catch {
      say("The audio cannot be fetched: check the connection.", { error: true });
      clearTimeout(syncRetry);
      syncRetry = setTimeout(syncAudio, 3_000);
      return null;
    }
    if (response.ok && data?.url) {
      tokenAt = Date.now();
      tokenSeconds = Number(data.expires_in) || 0;
      return data.url;
    }
    if (response.status === 403) return null; // not the speaker any more: a snapshot follows
    say(data?.error || `The audio cannot be fetched (HTTP ${response.status}).`, { error: true });
    if (response.status === 429) {
      clearTimeout(syncRetry);
      syncRetry = setTimeout(syncAudio, 5_000);
    }
    return null;
  }

  function startAudio() {
    const started = audio.play();
    started.then(
      () => {
        prompt(false);
        claimedAt = Date.now();
        tabs?.postMessage({ type: "playing", device: deviceId, tab: tabId, at: claimedAt });
      },
      (error) => {
        // The browser wants a click on this page first (autoplay policy); an AbortError only
        // means a newer change interrupted this start.
        if (error.name === "NotAllowedError") prompt(true);
      },
    );
  }

  // Move the audio to where the session stands if it is noticeably elsewhere (small differences
  // are left alone: every jump is heard).
  function align(ms) {
    if (Math.abs(audio.currentTime * 1000 - ms) > DRIFT_MS) audio.currentTime = ms / 1000;
  }

  async function syncAudio() {
    const generation = ++syncGeneration;
    const track = snap?.track;
    if (!isSpeaker() || !track) {
      dropAudio();
      prompt(false);
      return;
    }
    if (snap.state !== "playing") {
      audio.pause();
      prompt(false);
      if (audioTrack !== track.id) dropAudio();
      else if (!tokenStale()) align(position()); // else the resume fetches from a new URL
      return;
    }
    const target = position();
    const far = Math.abs(audio.currentTime * 1000 - target) > DRIFT_MS;
    // A new URL for another track, for a jump the old token may no longer allow, or after a
    // failed request (the element is stuck until its source is set again).
    if (audioTrack !== track.id || (far && tokenStale()) || audio.error) {
      const url = await mediaUrl(track.id);
      if (generation !== syncGeneration) return; // a newer snapshot has taken over
      if (!url) return;
      audioTrack = track.id;
      audio.src = url;
      audio.currentTime = position() / 1000;
    } else {
      align(target);
    }
    startAudio();
  }

  audio.addEventListener("ended", () => {
    // The entry that ended: if another one plays by now, the server ignores this end.
    if (isSpeaker() && snap.track && audioTrack === snap.track.id) {
      control("ended", { item: snap.queue.current });
    }
  });

  // A failed request for more of the file (typically a seek after the URL's token expired): a new
  // URL, at the position where the session stands. Given up after a few failures in a minute.
  audio.addEventListener("error", async () => {
    if (audioTrack === null || !isSpeaker() || snap.state !== "playing") return;
    const now = Date.now();
    while (audioErrors.length && audioErrors[0] < now - 60_000) audioErrors.shift();
    audioErrors.push(now);
    if (audioErrors.length > 3) {
      say("This track does not play here: try another device or track.", { error: true });
      return;
    }
    const generation = ++syncGeneration;
    const track = audioTrack;
    const url = await mediaUrl(track);
    if (!url || generation !== syncGeneration || audioTrack !== track) return;
    audio.src = url;
    audio.currentTime = position() / 1000;
    startAudio();
  });

  tabs?.addEventListener("message", (event) => {
    const note = event.data;
    if (!note || note.device !== deviceId || note.tab === tabId) return;
    if (note.type === "playing") {
      const mine = audioTrack !== null && !audio.paused;
      if (mine && (note.at < claimedAt || (note.at === claimedAt && note.tab < tabId))) {
        tabs.postMessage({ type: "playing", device: deviceId, tab: tabId, at: claimedAt });
        return;
      }
      anotherTabPlays = true;
      dropAudio();
    } else if (note.type === "released" && anotherTabPlays) {
      anotherTabPlays = false;
      syncAudio();
    }
  });
  window.addEventListener("pagehide", () => {
    if (audioTrack !== null) {
      tabs?.postMessage({ type: "released", device: deviceId, tab: tabId });
    }
  });

  // --- Drawing ----------------------------------------------------------------------------------

  let dragging = false;
  let frame = 0;
  let shownSecond = -1;

  function renderProgress() {
    const end = duration();
    const at = dragging ? seek.valueAsNumber : position();
    if (!dragging) seek.value = String(at);
    const second = Math.floor(at / 1000);
    if (second !== shownSecond) {
      shownSecond = second;
      part("elapsed").textContent = clock(at);
      seek.setAttribute("aria-valuetext", `${clock(at)} of ${clock(end)}`);
    }
  }

  function tick() {
    renderProgress();
    frame = snap?.state === "playing" ? requestAnimationFrame(tick) : 0;
  }

  // Rebuild a list only when what it shows changed, keeping focus on the same button.
  function rebuild(list, key, build) {
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    const focused = list.contains(document.activeElement)
      ? document.activeElement.dataset.focusKey
      : null;
    list.replaceChildren(...build());
    if (focused) list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
  }

  function element(tag, { text, className, attrs } = {}, children = []) {
    const made = document.createElement(tag);
    if (text !== undefined) made.textContent = text;
    if (className) made.className = className;
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === true) made.setAttribute(name, "");
      else if (value !== false && value !== null && value !== undefined) made.setAttribute(name, value);
    }
    made.append(...children);
    return made;
  }

  function renderDevices() {
    const devices = snap?.devices || [];
    const active = snap?.active_device;
    rebuild(part("devices"), JSON.stringify([devices, active]), () =>
      devices.map((device) => {
        const state = device.id === active ? "Speaker" : device.online ? "Online" : "Offline";
        const here = device.id === deviceId ? " (this browser)" : "";
        return element("li", {}, [
          element(
            "button",
            {
              className: `player-device${device.online ? "" : " is-offline"}`,
              attrs: {
                type: "button",
                "data-device": device.id,
                "data-focus-key": `device:${device.id}`,
                "aria-pressed": String(device.id === active),
                disabled: !device.online && device.id !== active,
              },
            },
            [
              element("span", { className: "player-device-name", text: device.name + here }),
              element("span", { className: "player-device-state", text: state }),
            ],
          ),
        ]);
      }),
    );
  }

  function renderQueue() {
    const queue = snap?.queue || { upcoming: [], length: 0 };
    const upcoming = queue.upcoming;
    part("queue-count").textContent = upcoming.length ? `(${upcoming.length})` : "";
    part("queue-empty").hidden = upcoming.length > 0;
    part("queue-clear").disabled = upcoming.length === 0;
    rebuild(part("queue"), JSON.stringify(upcoming.map((e) => e.id)), () =>
      upcoming.map((entry, index) => {
        const name = entry.track.name;
        const artists = entry.track.artists.join(", ");
        const button = (label, kind, text, disabled) =>
          element("button", {
            text,
            className: "player-small",
            attrs: {
              type: "button",
              "data-queue": kind,
              "data-item": String(entry.id),
              "data-index": String(index),
              "data-focus-key": `${kind}:${entry.id}`,
              "aria-label": label,
              disabled,
            },
          });
        return element("li", { attrs: { "data-item": String(entry.id) } }, [
          element("span", { className: "player-queue-track" }, [
            element("span", { className: "player-queue-name", text: name }),
            element("span", { className: "hint", text: artists }),
          ]),
          button(`Move ${name} up`, "up", "↑", index === 0),
          button(`Move ${name} down`, "down", "↓", index === upcoming.length - 1),
          button(`Remove ${name} from the queue`, "remove", "Remove", false),
        ]);
      }),
    );
  }

  let mediaKey = "";
  function renderMediaSession() {
    if (!("mediaSession" in navigator)) return;
    const track = snap?.track;
    const key = track ? JSON.stringify([track.id, track.name, track.cover]) : "";
    if (key !== mediaKey) {
      mediaKey = key;
      navigator.mediaSession.metadata = track
        ? new MediaMetadata({
            title: track.name,
            artist: track.artists.join(", "),
            album: track.album,
            artwork: track.cover
              ? [{ src: new URL(track.cover, window.location.href).href, sizes: "160x160", type: "image/jpeg" }]
              : [],
          })
        : null;
    }
    const states = { playing: "playing", paused: "paused" };
    navigator.mediaSession.playbackState = states[snap?.state] || "none";
    if (track && duration()) {
      try {
        navigator.mediaSession.setPositionState({
          duration: duration() / 1000,
          position: Math.min(position(), duration()) / 1000,
          playbackRate: 1,
        });
      } catch {
        /* an inconsistent moment (position past the end): the next change sets it */
      }
    }
  }

  function render() {
    const track = snap?.track || null;
    root.hidden = false;
    part("title").textContent = track ? track.name : "Nothing playing";
    part("artists").textContent = track ? track.artists.join(", ") : "";
    const album = part("album");
    album.hidden = !(track && track.album_id);
    part("sep").hidden = album.hidden || !track.artists.length;
    if (track?.album_id) {
      album.textContent = track.album;
      album.href = urls.albumUrl.replace(/0\/$/, `${track.album_id}/`);
    }
    const cover = part("cover");
    if (track?.cover) {
      if (cover.getAttribute("src") !== track.cover) cover.src = track.cover;
      cover.alt = `Cover of ${track.album || track.name}`;
    }
    cover.hidden = !track?.cover;
    part("cover-none").hidden = Boolean(track?.cover);

    const playing = snap?.state === "playing";
    playButton.dataset.state = playing ? "playing" : "paused";
    playButton.setAttribute("aria-label", playing ? "Pause" : "Play");
    for (const name of ["play", "previous", "next", "like"]) part(name).disabled = !track;
    seek.disabled = !track || !duration();
    part("shuffle").disabled = !snap;
    part("repeat").disabled = !snap;

    const liked = Boolean(track && snap.liked);
    part("like").setAttribute("aria-pressed", String(liked));
    part("like").setAttribute("aria-label", liked ? "Liked: unlike" : "Like");
    part("shuffle").setAttribute("aria-pressed", String(Boolean(snap?.shuffle)));
    const mode = snap?.repeat || "off";
    const repeatButton = part("repeat");
    repeatButton.dataset.mode = mode;
    repeatButton.setAttribute("aria-pressed", String(mode !== "off"));
    repeatButton.setAttribute("aria-label", `Repeat: ${mode}`);

    seek.max = String(duration());
    part("total").textContent = clock(duration());
    shownSecond = -1;
    if (!dragging) renderProgress();
    if (playing && !frame) frame = requestAnimationFrame(tick);

    renderDevices();
    renderQueue();
    renderMediaSession();
    markCurrentRows();
  }

  function markCurrentRows() {
    const track = snap?.track;
    for (const row of document.querySelectorAll("[data-track-row]")) {
      row.classList.toggle("is-current", Boolean(track) && row.dataset.trackRow === String(track.id));
    }
  }
  // Pages arrive without a reload (static/js/shell.js): mark the playing track in their lists too.
  document.addEventListener("htmx:afterSettle", markCurrentRows);

  // --- Wiring -----------------------------------------------------------------------------------

  playButton.addEventListener("click", playPause);
  part("previous").addEventListener("click", () => control("previous"));
  part("next").addEventListener("click", () => control("next"));
  part("like").addEventListener("click", like);
  part("shuffle").addEventListener("click", shuffle);
  part("repeat").addEventListener("click", repeat);
  part("prompt").addEventListener("click", () => {
    if (audioTrack !== null) startAudio();
    else syncAudio();
  });

  seek.addEventListener("input", () => {
    dragging = true;
    renderProgress();
  });
  seek.addEventListener("change", async () => {
    dragging = true;
    await control("seek", { position_ms: Math.round(seek.valueAsNumber) });
    dragging = false;
    renderProgress();
  });

  const savedVolume = Number.parseFloat(storage.get(VOLUME_KEY) ?? "");
  audio.volume = Number.isFinite(savedVolume) ? Math.min(1, Math.max(0, savedVolume)) : 1;
  volume.value = String(audio.volume);
  volume.setAttribute("aria-valuetext", `${Math.round(audio.volume * 100)}%`);
  volume.addEventListener("input", () => {
    audio.volume = volume.valueAsNumber;
    volume.setAttribute("aria-valuetext", `${Math.round(audio.volume * 100)}%`);
    storage.set(VOLUME_KEY, String(audio.volume));
  });

  // The queue and device panels: one open at a time, Escape closes it.
  function openPanel(name) {
    for (const toggle of root.querySelectorAll("[data-player-toggle]")) {
      const open = toggle.dataset.playerToggle === name;
      toggle.setAttribute("aria-expanded", String(open));
      root.querySelector(`[data-player-panel="${toggle.dataset.playerToggle}"]`).hidden = !open;
    }
  }
  for (const toggle of root.querySelectorAll("[data-player-toggle]")) {
    toggle.addEventListener("click", () => {
      const name = toggle.dataset.playerToggle;
      const opening = toggle.getAttribute("aria-expanded") !== "true";
      openPanel(opening ? name : null);
      if (opening && name === "devices") refresh(); // who is online changes without an event
    });
  }
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = root.querySelector("[data-player-toggle][aria-expanded=true]");
    if (!open) return;
    openPanel(null);
    open.focus();
  });

  part("devices").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-device]");
    if (!button || button.getAttribute("aria-pressed") === "true") return;
    // Playback moves to a device when that device asks for it: this page asks in its name.
    control("speaker", {}, { device: button.dataset.device });
  });

  part("queue").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-queue]");
    if (!button) return;
    const item = Number(button.dataset.item);
    const index = Number(button.dataset.index);
    const upcoming = snap.queue.upcoming;
    if (button.dataset.queue === "remove") control("queue-remove", { items: [item] });
    // Moves are in the order things play: after the entry two up (or first: after the one
    // playing), or after the entry below.
    else if (button.dataset.queue === "up" && index > 0) {
      control("queue-move", { item, after: index > 1 ? upcoming[index - 2].id : null });
    } else if (button.dataset.queue === "down" && index + 1 < upcoming.length) {
      control("queue-move", { item, after: upcoming[index + 1].id });
    }
  });
  part("queue-clear").addEventListener("click", () => control("queue-clear"));

  // Play and queue buttons on library pages: data-player-action="play" | "queue-add", with
  // data-tracks (ids, space-separated) and data-start, or data-album / data-artist /
  // data-playlist; data-next queues to play next.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-player-action]");
    if (!button) return;
    const action = button.dataset.playerAction;
    const body = {};
    if (button.dataset.tracks) body.tracks = button.dataset.tracks.split(/\s+/).filter(Boolean).map(Number);
    for (const kind of ["album", "artist", "playlist"]) {
      if (button.dataset[kind]) body[kind] = Number(button.dataset[kind]);
    }
    if (button.dataset.start) body.start = Number(button.dataset.start);
    if (action === "queue-add") body.next = "next" in button.dataset;
    button.setAttribute("aria-busy", "true");
    try {
      const done = await control(action, body);
      if (done && action === "queue-add") say(body.next ? "It plays next." : "Added to the queue.");
    } finally {
      button.removeAttribute("aria-busy");
    }
  });

  // Keyboard shortcuts, except while typing; Space keeps pressing a focused button and the arrows
  // keep moving a focused slider.
  const NOT_TYPED = ["range", "checkbox", "radio", "button", "submit", "reset", "color", "file"];
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (!snap) return;
    const target = event.target instanceof Element ? event.target : document.body;
    const typing =
      target.closest("textarea, select, [contenteditable]:not([contenteditable=false])") ||
      (target instanceof HTMLInputElement && !NOT_TYPED.includes(target.type));
    if (typing) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key.startsWith("Arrow") && target.matches("input[type=range]")) return;
    if (key === " ") {
      if (target.closest("button, a, summary, [role=button], input[type=checkbox], input[type=radio]")) return;
      playPause();
    } else if (key === "ArrowRight" && event.shiftKey) control("next");
    else if (key === "ArrowLeft" && event.shiftKey) control("previous");
    else if (key === "ArrowRight" && snap.track) seekTo(position() + SEEK_STEP_MS);
    else if (key === "ArrowLeft" && snap.track) seekTo(position() - SEEK_STEP_MS);
    else if (key === "l") like();
    else if (key === "s") shuffle();
    else if (key === "r") repeat();
    else return;
    event.preventDefault();
  });

  if ("mediaSession" in navigator) {
    const handlers = {
      play: () => snap?.track && control("resume"),
      pause: () => snap?.track && control("pause"),
      nexttrack: () => control("next"),
      previoustrack: () => control("previous"),
      seekto: (details) => seekTo(details.seekTime * 1000),
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler);
      } catch {
        /* this browser does not offer that action */
      }
    }
  }

  // --- Start ------------------------------------------------------------------------------------

  const registered = register();
  setInterval(async () => {
    await register();
    // The stream may have died quietly (a sleeping laptop, a proxy): catch up by hand.
    if (source?.readyState !== EventSource.OPEN) refresh();
  }, HEARTBEAT_MS);
  window.addEventListener("online", () => {
    register();
    refresh();
  });
  document.documentElement.classList.add("player-ready");
  registered.then(follow);
})();
