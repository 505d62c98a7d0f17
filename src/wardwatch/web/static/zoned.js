// Wall-clock times in a facility's IANA time zone, for the date-time inputs of playback and
// export (the browser's own zone is irrelevant: footage is labelled in the facility's).

function parts(ms, timeZone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const out = {};
  for (const { type, value } of format.formatToParts(new Date(ms))) out[type] = Number(value);
  return out;
}

function offsetMs(ms, timeZone) {
  const p = parts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** "YYYY-MM-DDTHH:MM:SS" as a clock in `timeZone` shows the instant `ms`. */
export function toLocalInput(ms, timeZone) {
  const p = parts(ms, timeZone);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** The instant (ms) at which a clock in `timeZone` shows `text` ("YYYY-MM-DDTHH:MM[:SS]"). */
export function fromLocalInput(text, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(text || "");
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  let guess = wall - offsetMs(wall, timeZone);
  guess = wall - offsetMs(guess, timeZone); // settles across a DST change
  return guess;
}
