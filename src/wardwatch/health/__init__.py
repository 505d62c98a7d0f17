"""Camera health: picture analytics on keyframes, health states, uptime and incidents."""
