"""Dashboard selectors: what a user's listening adds up to over a period, read from the rollups
(scrobbler.rollups) rather than from millions of plays. One module per part of the dashboard;
callers import from the module that holds what they need (this package re-exports nothing):

- `rollups`: reading the rollups for a period (hours, per-entity totals), shared by the others;
- `overview`: a period's totals and variety, and where "all time" starts;
- `tops`: the most played tracks, artists and albums, with their change of rank;
- `activity`: plays per day, week or month, by weekday and hour, streaks and the busiest day;
- `habits`: listening sessions and how plays spread over tracks and artists;
- `entities`: one track, artist or album: its plays and rank per month, its own top tracks;
- `history`: the latest plays, and this calendar day in earlier years.

A period is whole local days. Its whole months come from the monthly rollups, the days at its
ragged ends from the plays themselves (a few weeks at most), all time from the all-time totals,
so every answer is exact and none reads more than a few tens of thousands of rows.
"""
