"""The rate governor: find an API's unannounced rate limit, run just under it, follow it.

The Zyntro API announces no limit, so a run learns it from the only signal there is: the
429 answers. :class:`RateGovernor` is an :class:`~zyntro_async._observe.AttemptObserver`:
``before_attempt`` waits for the attempt's turn (or raises to stop the run), ``after_attempt``
learns from how it went. It controls two things:

- a **pace** (attempts spaced ``1/rate`` apart, measured from the previous send at the rate
  of the moment, one waiter at a time, first come first served), for limits on requests
  per unit of time (a token bucket, a quota per window);
- a **window** of requests in flight, for a cap on concurrent requests.

The control law
---------------
*Slow start.* A run begins as TCP does: a window of 4 requests in flight that grows by one
per success, doubling each round trip, until the server first refuses or the run's own
concurrency is the tighter bound (the window is twice what is in flight and nothing waits
for a place in it: a round of answers arriving together empties the window for an instant
while the attempts they free are still on their way). Without it, the first refusal met
the run's whole concurrency in flight: 64 requests refused at once against a limit that
accepts 5, and with ``Retry-After`` a pause for each round of them. Doubling costs a few
round trips at the start of a run; after it, nothing.

*Episodes and rounds.* A 429 starts an **episode** of refusals; it is over once a request
sent after the latest 429 came back succeeds. Within an episode the pace is cut at most once
per **round**: a 429 of a request sent before the last cut is the same overload seen again
(TCP reacts once per window of data, not once per lost packet). A ``Retry-After`` pause is
set at most once per round too.

*What the limit is.* At a cut the governor estimates the sustainable rate ``W`` from what
the server *accepted*, never from what was offered:

- the **short estimate**: requests sent after the first 429 came back that still succeeded,
  per second of their sends, over at least two round trips; counted up to a send whose
  answers are all in, the latest success's or the oldest still in flight, whichever is
  earlier (a 429 answered at once comes back before the successes sent just ahead of it,
  and where round trips vary widely, a slow success after faster ones sent later). A
  token bucket that refuses is empty, and then
  accepts exactly its refill rate whatever is offered: this is the rate, not the burst.
  Not once one pause of the episode, end to end, outlasted that span (a bucket refilled
  during it); many short ones (an exact wait for one token, per 429) do not add up to one.
- the **paused round** (where the episode's first 429 pauses the run longer than the
  short estimate takes: a ``Retry-After`` of a second or more refills the bucket, and
  what succeeds after the pause measures its burst as much as its rate): the requests
  already in flight, sent since the refused one, reach the bucket empty, so between the
  first and the last of them it refused it accepted its rate times the time between,
  give or take one. Counted once they are all answered (during the pause), where 8 or
  more were accepted between, refusals went on to the round's end (a quota that reopened
  meanwhile accepts the rest) and the two lie two spreads of round trips apart or more
  (each end is known to a one-way trip, which varies as the round trips do), and with no
  gap in its sends between them over half their span (slow start sends its windows a
  round trip apart, and a bucket with a small burst overflows between them: two such
  clumps of a 300/s bucket with a burst of 6 were read at 186/s); never under
  the floors the 429 counted, and it only lowers the limit the cut set (a cap's round
  counts what the cap let through while the round trips varied, and ran a cap of 32 at
  200 ms a fifth over it; counted at 8, one more or less is an eighth), unless that limit
  is only a floor or a guess (the pause was part of the cycle it counted): then it raises
  it, up to the pace the round was sent at. Cut to the tail floor under it, a 200/s bucket
  with a burst of 4 at 100 ms answering in seconds was held at 169-178/s while its round
  counted 199-207/s, and probed over ten pauses a unit it found its rate only in the
  run's last seconds (0.78-0.92 of it settled); a cap of 30 at 150 ms, taken for a rate,
  settled at 0.81-0.90 of it over real sockets, 1.06-1.08 so. Without it a
  search's 429 that paused the run cut to 0.7 of the pace it refused, a guess: a 300/s
  bucket with a burst of 150 at 100 ms answering in seconds, refused at 655/s, was set
  to 458/s, then 335/s a pause later and 300/s three pauses after (0.90-0.92 of it
  settled on three seeds; now 0.98-1.00, and 0.99 over real sockets where it was 0.91).
  At 20 ms a 300/s bucket's round holds too few successes to count (about six); where
  round trips vary by 90% its ends are not known well enough. Where the pause is long (five
  seconds or more), the round is the one in flight at the 429 that set it, even if that 429
  was taken for a stray (slow start's first few are: too rare among its answers yet) and
  the episode began at a later 429 of the same round: formed there, it missed the
  successes answered in between (a 300/s bucket at 100 ms answering "Retry-After: 30"
  was read at 251/s), or was not formed at all, and a second pause of 30 s measured the
  rate. Where it tells no rate and the cut only guessed (0.7 of the pace refused,
  nothing counted over it), what the round accepted from the refused send to its latest
  one, per second of that span (taken half a spread of round trips longer), is still a
  floor: a bucket empty at the refused send accepts no more than it refills, plus one.
  It raises the guess to that floor, up to the pace refused. A cap met at a search's
  pace looks like a bucket at that 429 (one 429 a pause tells them apart by no count the
  client keeps), and its round refuses a few at its start and accepts the rest: a cap of
  20 at 100 ms answering in seconds was held at 0.7 of the pace it accepts, 0.79-0.81 of
  it over real sockets; now 0.99-1.05 (0.92-0.98 answering dates, from 0.81). A bucket's
  round, sent over its rate, accepts less than the cut already guessed: in the
  simulation no bucket's or quota's run changed.
- the **cycle estimate** (at the first 429 of an episode): what was accepted between the
  previous episode's last refused request and this one, per second. A bucket is empty at
  both ends, so everything in between is what refilled it; a quota accepts ``quota`` per
  window between two exhaustions. Coarse (a window falls anywhere in a cycle), so it moves
  ``W`` half way, and never below 0.7 of the pace just refused (a cycle spent partly under
  the limit undercounts it; CUBIC cuts to 0.7 too). A cycle that contained a
  ``Retry-After`` pause counts the pause as refill: its estimate is only a floor (below).
  Where ``W`` itself was only that 0.7 (a guess, nothing counted), it is not moved half
  way to: a drain floor over the cycle's count takes its place (a bucket of 300/s with a
  burst of 150 answering in seconds was resumed half way from its guess of 441/s, at
  335/s, drained its burst for 6 s and paused the run once more: 0.91 of its rate). If
  the pause was long enough to refill the burst at that rate, the drain began with the
  bucket full and counted the rate itself: 0.7 of the pace refused no longer overrules it.
- the **drain floor** (at the first 429 after a ``Retry-After`` pause): a bucket is full
  when the pause ends and empty at that 429, so what it accepted between is its burst plus
  its rate times the time. Its burst is at most what the run got through before its first
  episode, less what the bucket refilled meanwhile (its rate over all but the first two
  round trips of slow start, which offer less than the rate), so what was accepted beyond
  that is at most the rate over the time of both, and close to it once the drain lasts a
  while. The estimate is never below it: the cycle estimate
  alone, which a burst-capped refill undercounts, held a 300/s bucket answering
  ``Retry-After: 1`` at 0.92 of its rate.
- the **tail floor** (at an episode's first 429): a bucket is empty at a refused send and
  held at most its burst at any moment before it, so over any span before that send it
  accepted at most its burst plus its rate times the span. Its burst is at most what
  emptied the bucket the run began with, so the successes sent over the span less that,
  per second, are at most the rate. Counted by when they were sent (in 25 ms slots over the
  last two seconds; where 429s come back in clearly less than a round trip, only up to the
  latest success's send: those sent after it are still in flight), the best span is the
  one just before the 429, where the pace ran over the rate: a floor close to it however
  small the burst, where the cycle count (spent mostly under the rate) and 0.7 of the pace
  refused are far under it. A bucket with a
  burst of 5 answering ``Retry-After: 1`` settled at 0.84 of its rate without it (its
  search's 429 came just over the rate, and 0.7 of that was probed over 10 s units), a cap
  of 16 at 5 ms answering the same at 0.78. It holds only if the bucket began the run full:
  one that refused the run's first request tells no burst, and a limit the tail floor set
  that is refused at or under itself (a run just before had drained the bucket) ends its
  use for the run, and the limit goes back to what the other estimates gave. Where the 429
  ends a search from a pace the server accepted (a limit that rose, below), the tail floor,
  with the first count's refill counted, is the estimate alone: the search doubles each
  second, and goes on past the rate while the burst takes the excess, so 0.7 of the pace it
  refused is over the rate (a 300/s bucket with a burst of 60 restored from 150/s was
  searched up to 491/s and resumed at 334/s, to pause the run once more). Where the 429
  pauses the run under ``_LONG_PAUSE``, so counted, at 0.98 of it, if that is higher: the
  climb back from a floor under the rate takes units of ten pauses, and the count lands
  within 1-2% of the rate either side (a plateau over it is a probe's 429 a unit on). A
  300/s bucket with a burst of 10 at 20 ms answering ``Retry-After: 1`` held 0.91 of its
  rate on average over six seeds without it, 0.97 so.
- the **pace a burst of one refused** (at an episode's first 429, with a cycle counted,
  whose request was alone in flight, where the run's first burst was one request at most):
  such a bucket refuses the first request sent closer behind the one before than it
  refills, so the pace it refused is its rate, give or take a search's step (one doubling
  per ten successes at a few requests a second: 7%). ``margin`` of it is a measured limit.
  The floors count a second or two of the climb up to it, a fifth under it at a few
  requests a second, and probed up from there over units of 100 requests (20-25 s), in
  the simulation 5/s at 10 ms held 0.79-0.82 of its rate over a minute's second half
  and 10/s at 20 ms 0.85-0.92, 0.97-0.98 and 0.94-0.97 now; over real sockets 0.82 and
  (answering in seconds) 0.86 before, 0.99 and 0.91 now. Only alone in flight: a cap of
  one refuses the second of two in flight, not a pace, and taken for a rate at the pace
  refused a cap of one at 100 ms answering HTTP dates fell to 0.43-0.48 of it on three
  seeds of six (0.91-0.99 so), each 429 pausing the run a second.
- **two drains** (at the first 429 after a pause, when the one before also ended one): each
  began with the bucket full (a pause longer than its burst takes to refill) and, sent
  over its rate throughout, accepted ``burst + rate * span``; two whose lengths differ by
  clearly more than their ends are known to (a round trip where round trips vary by a
  fifth or more, a few spreads of them where they hardly vary) give the rate itself, a
  measurement; of the last three in a chain, the pair longest apart. Only sending over
  the rate from the pause's end qualifies (under it, the bucket overflows); how fast the
  run could send is the pace, or a window per round trip where a window holds it under
  the pace. A drain that does not qualify breaks the chain. A pair whose burst would be
  clearly over the first burst (when that bounds it, as for the tail floor) is no
  bucket's: it lies either side of a change of limit, and so do the floors counted over
  the same drain, so the cut is CUBIC's (0.7 of the pace refused) and the drains after it
  measure the new limit.
  Without two drains a bucket halved to 150/s was held at 137/s: each 429 paused the run,
  and the counts over cycles that held a pause were only floors.
- with neither (the first episode of a run, drained by a pause): at the end of the episode,
  everything accepted since the run began over the time until the server accepted again,
  pauses included: a quota of 100 per 10 s drained at once gives 100 / 10 s. That is only a
  *floor* (a bucket whose 429s say "come back in 1 s" gives its burst per second): the pace
  climbs from it exponentially (a search, not a probe: a ``Retry-After`` pause counts for at
  most a second of its time unit, or a bucket answering 30 s climbed from its burst per
  30 s, doubling every 30 s), a 429 above it is not "just over the limit", and it is not
  used to tell a cap on concurrency from a rate. The same count sets the pace the run
  resumes at when such an episode pauses: the pace held through it was offered, not
  accepted, and resumed at it the run met the limit again in its first round (and paused
  again: against a cap of 8 answering with HTTP dates, a second blind cut set a floor of 3
  requests a second, and the run took seconds to climb back). With too few successes to
  count even a floor (a limit of a few requests a second), the pace the blind cuts left
  climbs one doubling per ten successes, so that the next cycle can be counted (doubling
  each second, a bucket of 5/s was refused after every six successes and halved blind for
  good).
- a **quota's count** (at the end of an episode in which the server accepted nothing sent
  after its first 429 until it reopened): a quota per window accepts nothing from its
  exhaustion to the window's end, then its whole count again, however fast it is sent. So
  the successes between two reopenings one window apart are its count; a chain of such
  windows over the shortest time it can have lasted is the most its rate can be (a reopening
  lies between the last refused send and the first accepted send, and when the server named
  a wait, within a second before its end: ``Retry-After`` has whole seconds). Of the last
  few reopenings of a chain, the pair known best counts. Taken too high, the run still runs
  each window out and the chain goes on, closer each window (a window run out late leaves
  less time to poll in, so its reopening is known closer); taken too low, the rest of each
  window would go unused for good. A 429 at a pace above a counted quota takes
  the pace back under it (no cycle count overrules it: one that began at a refusal before a
  pause counted the pause as well; nor is it a stray) and polls for the next reopening at
  once. A chain starts only at an episode that refused everything for a while: polled (no
  ``Retry-After``), half a second is a quota's doing (a token bucket of 2 requests a second
  or more refills sooner), and if it is the run's first, its window already gives a rate:
  its count over the shortest time from the run's start to the reopening (more if the
  window began before the run did), probed over one window until a second window confirms
  it. With a named wait, a chain starts at a pause of 2 s or more; a named wait alone tells
  nothing (a bucket answering ``Retry-After: 30`` is dead for 30 s each time too), so such
  a chain counts only once the server's waits have differed (a quota's wait is what is left
  of its window; such a bucket's never changes). Without the count, the floor from the
  first window was exact, the climb from it overshot, each later count was overruled by 0.7
  of the pace refused, and a run against 1,000 per 10 s reported 249/s as its settled rate
  (or took the exhaustion for a cap); polled, a quota of 100 per 10 s settled at 10.4-14/s
  and ran out every window.

The pace becomes ``margin * W`` (0.97 by default: just under it). With no estimate yet the
pace halves once per round, so a flood of 64 requests in flight slows down within a few
round trips, and a quota that accepts nothing is polled ever more gently (down to one
attempt every 2 s) until it reopens; then the pace resumes at ``margin * W``. A second
round refused whole, nothing accepted since the first 429 (or 16 refused and nothing
accepted sent since the first refused send: successes sent before it may still be coming
back), takes the pace to one attempt per round trip before halving it (TCP's timeout: a
window of one): halving from a flood's pace sent dozens more 429s at a quota that had run
out. A wait for the pace is slept in parts of at most 0.1 s, so a pace that rises (the
server accepts again) takes effect at once, not after a poll's 2-second interval. A lone
429 at a steady pace near a known ``W`` (a probe that went too far) cuts to ``margin`` of
it at once; if 429s go on, the pace is held for a couple of round trips to measure the new
limit (not a counted quota's: it accepts nothing until it reopens; nor once eight 429s in a
row say the server accepts none now). A cycle count is only a
floor when a pause fell in it, but one refused at or under itself within a time unit of
resuming at it, by a request sent at that pace and with no pause longer than a short
estimate takes, is no floor: it is taken as a known ``W`` refused again, and comes down by
the margin each time (halved blind, the run searched up to the same overshoot and learned
the same floor again, for good). A known ``W`` refused again within a time unit comes down
to what the server accepted a second between the previous episode's first 429 and this
one's, where that is lower (a bucket is empty at both, a window quota met at the same
point of two windows accepted its count between them), but no more than to 0.7 of it in
one step. A 429 far above a measured ``W`` (over 1.25 times it) after
the server accepted over 1.1 times ``W`` in the last second says the limit rose or was
measured low (at a pace already cut under it): the pace is held, not cut, and what the
server accepts of the requests sent since that 429 is the new ``W`` (a bucket with a small
burst refuses a pace a little over its rate only now and then, too seldom for a short
estimate; cut at once, a 1,000/s bucket with a burst of 5, measured at 767/s, climbed back
2% a probe).

*Blind episodes hold what is in flight.* With nothing measured, an episode also holds the
requests in flight to twice what the server accepted of those sent since its first
refused one, and to one until it accepts any. A quota that ran out accepts none of them:
the run waits for the round in flight to come back instead of sending into it (freed
from slow start's window at its first 429 and paced at half the flood, a run sent another
round into a quota of 500 per 5 s before the 429s stopped it: 107 refused at its first
exhaustion, 81 now, 64 of them in flight when it ran out). A bucket accepts its rate and a
cap its cap per round trip, so the run offers twice what they take, enough to measure
them; the short estimate counts from the first such success (counted from the first 429,
it took in the round trip held to one request, and read a cap of 8 at 20 ms as a rate of
264 a second).

*Probing.* Between episodes the pace follows a CUBIC curve in time, never in successes:
``rate(t) = W * (1 + c * ((t - t0) / T - k) ** 3)``. It climbs back to ``W`` quickly, stays
flat around it (where it spends most of its time: few 429s), then probes above it ever
faster, so a limit that rose is found within a few ``T``. The unit ``T`` is at least a
second, the length of the last episode (a 30-second pause is probed 30 times more slowly)
and a quarter of the last cycle (a quota that answers every 10 s is probed at its pace): a
probe never costs more than the time it takes to learn from it; with a measured limit, the
unit is also the time the limit takes to accept 100 requests (a probe costs a 429 or so:
against 20 a second, one every 3 s was 1.6% of the requests), and 250 of them up to 2.5 s
(a bucket of 100/s with a burst of 20 at 50 ms, probed over 1 s units, was refused every
2.5-3 s, 0.3-1.1% of the requests after its first flood; 0.1-0.3% so), and ten times the
``Retry-After`` pauses the last episode cost (whether the limit was measured or counted
over a cycle), so that a server pausing the run after every 429 is probed rarely (for
the run's first such limit, twenty times them where a search's drain after a pause
measured it, and two where it is only a floor or a guess and enough of the run is left
to use what the probe finds, see ``_paused_unit``); and
seven to forty times the seconds of ``W`` the bucket's burst holds (what emptied it when
the run began, less its refill and what got through before the sends reached ``W``): a
probe is refused only once it has spent the burst, by then 25% over ``W`` over units of
seven times them, 7% over forty, and a round trip's worth of that excess is in flight,
all refused (probed over 1 s units, a 200/s bucket with a burst of 200 at 100 ms was
refused at twice its rate). Seven times, from half a second of burst; but where 429s do
not pause the run, as many times as keep that excess to three requests in flight, if that
is more: probed over units of a second, a 250/s bucket with a burst of 50 at 200 ms met
10-40 429s a probe, 2.0-2.4% of its requests (1.2-1.6% over forty times its burst's
seconds). A pause
to an HTTP date counts as a second however short it was: a date says "until that second",
so the next probe's pause may be anything up to a second (waits are taken for dates when
they end whole seconds apart; probed at ten times a short one, a 300/s bucket paused every
10 s and settled at 0.92 of its rate). A limit that a probe meets where the previous probe
met it (a 429 that paused the run, while the pace climbed past the plateau, within 10% of
the pace the previous probe's 429 refused) is found: ``W`` becomes ``margin`` of the lower
of the two paces, whatever the cycle counted (it counted the pause, and the plateau the
curve held under a limit set low: a quota of 60 a second answering ``Retry-After: 1`` was
refused at 61/s every 35 s and set back to 50-55/s each time, 0.85-0.90 of it). Found so,
it is settled: the unit doubles, up to four times the usual (forty times the pauses),
since each probe costs a pause and finds the same limit (a limit that rose is found that
much later). A limit that fell under 0.6 of the highest that episodes have ended on since
a probe last met the limit (halved, say: it may come back) is probed over three times the
pauses instead, six after a probe that meets it still down there, then ten: a 300/s bucket
halved for 10 s, then restored, was held at 150/s for the 28 s the run had left, probed
over ten (see _track_fall). A search's 429s do not count: it climbs fast, and overshoots a
bucket by what its burst absorbs at much the same pace each time (20% over a 200/s bucket
with a burst of 5, three times running). A whole second that accepted 15% over ``W`` says
the limit rose: where the unit is 2 s or more and the burst is known to be at most a second
of ``W``, the curve gives way to a search from the pace then, doubling each second (with a
10 s unit, a bucket restored from 150/s to 300/s took 20 s more to climb to it once a probe
passed 150/s; now a few seconds). At 5% over, a limit measured 6% low was taken for one that
rose, and the search's overshoot cost pauses; a burst larger than a second of the rate,
or unknown (a bucket drained when the run began), fills such a second by itself, and so
does slow start's flood, unpaced: a second that began before the run's first 429 does not
count. The pace
never grows past twice what the server is seen to accept, or what is being sent right now
(in flight over the round trip): a pace nothing uses must not grow without bound, and one
that is used may double each round trip.

*Rate or concurrency?* Each attempt notes how many requests were in flight when it was
sent. A token bucket refuses whatever the number in flight; a cap on concurrent requests
refuses only above it. So a 429 at a steady pace with clearly more in flight than the
recent successes had (an average over about the last 16; in a search with 16 or more in
flight, more than they had grown to since, the pace doubling meanwhile), or, within an
episode, 429s
whose mean in flight is clearly above the successes', sets the window there (one under it
if that 429 paused the run: each try costs a pause) and leaves the pace alone (not a 429
of a search from a pace the server accepted with no window set, after a limit that rose or
strays: that is the rate it searches for); a 429 at the
window's edge lowers it by one; a 429 well within it drops it (it was not the limit: a
search's curve that doubled behind it is taken back to what it let through, and an
episode that only it estimated ends as one that measured nothing). A cap
lets through at most a window per round trip, so the window never goes under what the run
got through per round trip when it was set: a 429 that would take it there drops it and is
taken for a rate's (a token bucket with a burst of one refuses requests that arrive close
together, which come with more in flight than the rest; lowered a place a 429, a window
taken for a cap went down to one against a 300/s bucket, and with one less allowed "for
noise", to one against an 80/s bucket at 40 ms: 0.31-0.36 of it). What got through is
counted while the run was sending: over the time so far in the run's first second, and
since the latest pause ended if a pause fell in the last second (counted over a second
spent mostly paused, it let the window go to one against the same bucket answering with
HTTP dates). An episode that only
set the window ends with the pace where it was: what the cycle accepted, pauses included,
is the cap's doing, not a rate (taken as a floor for the pace, it held a cap of 3 at 100 ms
to 9 requests a second, against the 30 it allows). The window grows by one every
``5 * T`` seconds to find a cap that rose, ``T`` being at least ten times the pauses of the
episode that set it. Two drains that tell a rate (above) overrule a window: a bucket met
while the pace climbs can come with a little more in flight than the successes before it,
and taken for a cap it only lost one place of its window a 429. So does a window (of up to
16) that was full for six round trips of successes (since it was set, or the latest pause
ended) before a 429 at its edge: a cap refuses one request over it at once, a bucket only
once its burst is spent. That window goes, and the pace is cut from what it sent, not from
the pace far above it (with 5-7 in flight, a bucket's 429 often comes with a little more in
flight than the successes' average: taken for a cap, 100/s at 50 ms settled at 5 in flight,
0.93 of it, and 500/s at 10 ms at 6, 0.81).

*Why it converges.* Each cut replaces the pace by a measurement of the limit itself, not by
a fraction of a guess, so one episode lands near the limit and later ones correct the
measurement; between episodes the curve dwells near ``W``, so 429s are rare once settled and
goodput is ``margin`` to 1 of the limit. A limit that drops is met by 429s (a cut to the new
measurement); one that rises is found by the convex part of the curve.

*Stray 429s.* A service may also answer 429 now and then whatever the pace (a busy
shard, a fault). Those are not a limit: cutting for each would ratchet the pace down to
nothing. So a 429 starts an episode only when 429s are a clear share of the recent answers
(an EWMA over about 200): 5% while no limit is known (a flood over a real limit is refused
far more than that within a few round trips), and once a limit is known, 2.5 times the share
seen while settled under it (zero when the server never refuses there, so a probe over the
limit is caught by its first 429; not counted for a time unit after an episode that only
guessed the limit, whose 429s then say it fell over the rate). Eight 429s in a row, no
success answered between, over more than a quarter of a second, are a limit's whatever their
share: strays at random come so a few times in a million answers even at the most noise, a
quota that ran out refuses just so, and a server that stalled answers its clump's dozen
together (see _stray). A stray 429 is still retried,
and its ``Retry-After`` still honoured. Once the run has met a limit (an episode of 429s
ended, measured or not), a 429 that pauses the run is never taken for a stray: a limit that
dropped under the pace, or one met again while climbing from a floor, answers just so (one
429 per pause, every few seconds, a share as small as the noise), and each costs a pause,
far more than a cut. Before that, such 429s may be strays (not one that pauses the run
long, below): taken for a limit's from the second on, 429s at random answering
"Retry-After: 1" (0.2% of them) each cut the pace, and 6,000 items on a server with no
limit took 36-42 s over real sockets, 13.5 s so. But five or more 429s of the round out
when the pause was set (and 5% of it) are a limit's, however rare among all the answers
(see _refused_in_a_clump: a bucket the workers overrun by a little refuses so after each
pause). And such a stray tries a window one under what was out (see _try_a_cap): a cap
just under the run's concurrency (15 with 16 workers) refuses only when every worker is
out at once, 1-4% of the answers, and each of its 429s was a stray that paused the run.
Nor is a 429 at the edge of a window set for a cap: it is the answer the window's probe
waits for (taken for a stray, the run went on at the cap plus one, ten 429s a probe).
Nor a 429 that pauses the run long (5 s or more), but once a stalled server's (below): such
a pause costs its whole length whether or not it teaches, and the run resumed at the same
pace and met the limit again (round trips varying by 90%, one or a few 429s among hundreds
of successes: a minute's work against a 1,000/s bucket answering "Retry-After: 30" took
1,351 s, against a cap of 16, 768 s). Taken for a stray once, as the first such 429 was
until 2026-12-05, it still cost whole pauses more (simulated, "Retry-After: 30"): 20 s of
work against a cap of 15 with 16 workers took 149-153 s, four pauses (88-90 s so, two);
a minute's against a 1,000/s bucket with a burst of 100 at 50 ms, 132-241 s (95-143 s).
A server that stalls (a garbage collection, a busy moment: it stops reading for 50 ms, then
takes in what arrived meanwhile at once) makes a bucket with a small burst refuse the tail
of that clump whatever the pace: the emulator does so once its heap has grown, and a
300/s bucket with a burst of 10 refused a clump at 200/s. Such a clump comes with answers
far later than usual (twice the least round trip of the last seconds, 20 ms more, and
three times as far over it as answers usually come): a 429 within a round trip of such an
answer, those of the requests sent before it came back and those of the next quarter
second teach nothing (their pause is still honoured), at a pace near the limit learned,
probes included (far over it, or in any search, a 429 is the limit's: where the latency
varies by half, answers twice the least round trip late are common, and a search's 429
taken for a clump doubled on through its pause), never against a counted quota (it
refuses only once run out), and at most once every 5 s. Learned from, each clump took
the limit down (to 262/s and 245/s against 300/s, where the same runs without the stalls
learned 288/s and 274/s).
Early in a run one 429 is a large share of few answers; if, once the server accepts
again, it stayed the only one and the share has fallen back under the threshold, the
episode is undone: the pace (and slow start) carry on as before it. Once a run: a queue in
front of the API (nginx's ``limit_req`` with a burst) answers all it let wait and refuses
one or two as its line overflows, so each of its episodes looks so, and undone each time,
a 200/s queue of 20 was overflowed again and again, never learned (0.83 of its rate).
Nor are 429s that ignore the pace a limit's, however clear their share. A service that
refused 6% of its answers at random (over the 5% that first reads as a limit) was taken
for one: each episode cut the pace, the next 429s came at the same share and cut it
again, and 8,000 items on a server with no limit took 156 s (3.4 s without them). So the
share is also counted stint by stint (the sends between two episodes' first 429s): a
limit refuses a pace over it and accepts one under it, and a stint accepted at under 0.4
of the fastest one's rate (counted from its first 429: what a bucket accepted before it
refused was burst) but refused about as often says that the 429s ignore the pace. Their
share becomes the noise, and what was learned from them goes: the run searches up again
from the fastest stint's rate (see ``_ignore_the_pace``). So too where such 429s each
took the limit a little lower, five episodes in a row and 15% down in all (see
``_Creep``): a limit met again where the run probed is found where it was, and random
429s after an unlucky start crept a run down to 3 requests a second. The noise is never
over a fifth of the answers: over half of them refused is a limit's doing, however noisy
the service.

*What it assumes.* One governor sees all the traffic that shares the limit (one run per
credential); the limit counts attempts, whatever their endpoint; latency is roughly stable
over a few round trips; a 429 means the request was not applied (so it is retried outside
``max_retries``: pacing is the only answer to it). ``Retry-After`` is in seconds (the
transport turns an HTTP date into seconds). When each 429 costs a long pause, learning costs
that pause: goodput is lower until settled, then stays.

*Pauses and stops.* ``Retry-After`` is honoured by every attempt, one pause per round of
429s. A pause longer than ``max_pause`` is waited out by default (the state shows
``paused_until`` for the display), or with ``on_long_pause="stop"`` ends the run with
:class:`LongRetryAfterError`. With no success for ``stall_timeout`` seconds while refused
(a long pause waited by choice does not count), ``before_attempt`` raises
:class:`RateLimitStalledError`. Both are :class:`RateLimitStopError`: the attempt was not
sent, and everything pending can be resumed.

Everything is O(1) per attempt: counters, an EWMA, a one-second bucket and a fixed ring of
80 counts (read once an episode, for the tail floor), no lists that grow. The paused round
is read once an episode too, and holds at most what was in flight when it paused.
"""

from __future__ import annotations

import collections
import enum
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal, NamedTuple

import anyio
import attrs

from zyntro_async._errors import ZyntroError
from zyntro_async._log import logger
from zyntro_async._observe import Attempt, AttemptResult
from zyntro_async._retry import FailureKind

__all__ = [
    "INITIAL_WINDOW",
    "GovernorPhase",
    "GovernorState",
    "LearnedLimit",
    "LongRetryAfterError",
    "RateGovernor",
    "RateLimitStalledError",
    "RateLimitStopError",
    "duration_text",
]

_CUBIC_C = 0.02  # growth above W: +2% one time unit after reaching it, +16% after two
_ROSE = 1.15  # a second accepting this multiple of a known limit: it rose, search again
_ROSE_UNIT = 2.0  # ... where the curve's unit is this long or longer (its probes cost pauses)
_ROSE_BURST_SECONDS = 1.0  # ... and whose burst is known, at most this many seconds of it
_GROWTH_CAP = 2.0  # the pace stays under this multiple of the accepted rate
_BLIND_CUT = 0.5  # the cut when nothing tells where the limit is
_MIN_RATE = 0.5  # one attempt every 2 s at the very least, to see a quota reopen
_SHORT_SAMPLES = 8  # successes amid refusals needed to trust the short estimate
_SHORT_ROUND_TRIPS = 2.0  # ... over a span of this many round trips
_ROUND_SAMPLES = 8  # successes between two refused sends of a paused round: its rate
_ROUND_ACCEPTED_MOST = 0.95  # ... if the round was sent at more than this share over it
_ROUND_SPREADS = 2.0  # ... and its refused sends lie this many spreads of round trips apart
_ROUND_GAP_SHARE = 0.5  # ... with no gap in its sends between them longer than this share
_ROUND_FLOOR_SPREAD = 0.5  # a round's floor counts its sends' span this share of a spread longer
_STRAGGLER_ROUND_TRIPS = 3.0  # a request out this many round trips: a straggler, not counted
_CONCURRENCY_GAP = 0.75  # refused with this many more in flight than successes: a cap
_HOLD_ABOVE = 1.25  # refused below this multiple of the known limit: measure, do not cut
_FAR_ACCEPTED = 1.1  # refused above it after the last second accepted this multiple: hold
_CYCLE_SAMPLES = 10  # successes between two episodes needed to trust the cycle estimate
_BACK_TO_BACK = _CYCLE_SAMPLES - 1  # episodes at most this many successes apart: back to back
_CYCLE_SECONDS = 1.0  # ... over at least this long
_FELL_CYCLE_SAMPLES = 5  # ... or this many, where a limit fell in a drain (see _fell_in_a_drain)
_CYCLE_UNIT_SHARE = 0.25  # the probing unit is at least this share of the last cycle
_REFUSED_SHARE = 0.7  # a cycle estimate is at least this share of the refused pace
_FAST_CONVERGENCE = (1 + _REFUSED_SHARE) / 2  # a cut after a fall climbs back toward this of it
_LONG_PAUSE = 5.0  # ... unless the 429 pauses the run this long: then the floors alone
_REFILL_SHADE = 0.98  # a shorter pause's estimate: this share of the tail floor's refill count
_FOUND_AGAIN = 1.1  # a probe's 429 within this factor of the previous probe's: the same limit
_SETTLED_UNITS = 4.0  # ... then the unit doubles, up to this many times the usual one
_WINDOW_PROBE_UNITS = 5.0  # the window grows by one every this many time units
_ABSURD_PAUSE = 7 * 86_400.0  # a Retry-After longer than a week is no advice at all
_FLOOR_HELD = 1.5  # a floor is the settled rate only while the pace stays under this x it
_PAUSE_UNITS = 10.0  # with a limit known, the probing unit is this many times its pauses
_FIRST_PAUSE_UNITS = 20.0  # ... twice that for the first probe of a limit a search measured
_FIRST_PAUSE_MOST = 2.0  # ... where its pauses cost at most this many seconds
_QUICK_PAUSE_UNITS = 2.0  # ... and a floor's or a guess's, quickly: over this many of them
_QUICK_PAUSE_LEAST = 0.5  # ... where they cost this many seconds or more (each a second) ...
_QUICK_WORK_LEFT = 20.0  # ... and the run's work left lasts this many of them at the limit
_FELL = 0.6  # ... but a limit under this share of the highest since the latest probe ...
_FELL_PAUSE_UNITS = 3.0  # ... is probed over this many times them (doubled at each probe)
_SHARE_ALPHA = 1 / 200  # the recent share of 429s among answers: an EWMA over ~200
_NOISE_ALPHA = 1 / 500  # the share of 429s while settled under the limit (stray ones)
_FIRST_SIGNAL_SHARE = 0.05  # with no limit known, 429s must be this share to mean one
_NOISE_MULTIPLE = 2.5  # once known, a limit is met when 429s exceed this many times noise
_NOISE_MOST = 0.2  # ... and the noise is at most this share of the answers
_FLOOD = 8  # 429s answered in a row, no success between: it accepts none now (see _stray)
_STINT_ANSWERS = 30  # answers a stint (the sends between two episodes) needs to count
_STINT_SHARES = (0.02, 0.5)  # ... and 429s in this range of them: now and then
_STINT_SHORT = (12, 4)  # ... or this many answers, this many of them 429s: often
_STINT_FAR = 0.1  # a stint accepted at most this share of the peak's rate ...
_STINT_FAR_SHORT = (6, 2)  # ... is told by this many answers, this many of them 429s
_CREEP_SHARES = (0.02, _NOISE_MOST)  # a creep's 429s in this range of the answers
_STINT_FELL = 0.4  # accepted at most this share of the peak stint's rate, a stint ...
_STINT_ALIKE = 0.6  # ... refused at least this share of its 429s' share: they ignore the pace
_STINT_APART = 2.0  # ... or less by fewer standard errors of the two shares than this
_STINT_REFUSED = 4  # ... counted over this many 429s at least
_STINT_EXPECTED = 8  # ... or fewer: once the peak's share expects this many, the share fell
_STINT_CALM = 0.25  # a settled stint refused under this share of the peak's share: no peak
_CREEP_EPISODES = 5  # episodes in a row, each begun under the limit the one before left ...
_CREEP_STEP = 0.85  # ... each to this share of the last one at least (a cut is 0.7) ...
_CREEP_FELL = 0.85  # ... down to this share of where they began: 429s that ignore the pace
_CREEP_REFUSED = 4  # such an episode has at most this many 429s (more: a limit's flood)
_PAUSED_ROUND_REFUSED = 5  # 429s of the round out at a pause, and 5% of it: a limit's, not strays
_TRIAL_LEAST = 4  # a rare pausing 429 with this many in flight or more tries a cap under it
_TRIAL_PLACES = 1 / 16  # ... lowered a place a 429, by at most this share of what was in flight
_TRIAL_LEAST_PLACES = 2  # ... or this many places
_TRIAL_REGROW = 30.0  # ... and grown back a place every this many seconds without one
_SEED_UNIT = 1.0  # a run started from a learned limit searches up from it, doubling this often
INITIAL_WINDOW = 4  # requests in flight before the first answer (slow start)
_OK_IN_FLIGHT_ALPHA = 1 / 16  # the EWMA of in flight at recent successes: about a window
_SEARCH_LAG_IN_FLIGHT = 16  # from this many, a search's growth since counts (see below)
_EDGE_ROUNDS = 6.0  # a window's edge held this many full round trips before a 429: no cap
_ONE_IN_FLIGHT = 1.0  # a window goes from two to one only where successes averaged under this
_EDGE_MOST = 16  # ... for a window of at most this many (a place of more costs little)
_IDLE_SEEN = 30  # a window held nothing back if, of this many successes at least, ...
_IDLE_AT_EDGE = 0.25  # ... at most this share were sent with it full
_FIT_SPREAD = 1.5  # two drains fit a bucket's rate if one lasted this many times the other
_FIT_UNDER = 0.99  # ... and the rate they give is under this share of every pace sent at
_FIT_ROUND_TRIPS = 3.0  # a drain counts if it lasted this many round trips
_FIT_SAMPLES = 5  # ... and accepted this many requests
_FIT_FOLLOWED = 0.9  # ... and its sends kept up with the pace (not idle workers)
_FIT_BURST_OVER = 1.25  # ... and their burst is under this many times the first burst
_FIT_GAP_ROUND_TRIPS = 8.0  # two fit if their lengths differ by this many round trips
_FIT_CHAIN = 3  # ... and the longest apart of the last this many that fit is taken
_FIT_SPREADS = 5.0  # ... of round trips counted as this many times their spread (see _fit_time)
_FIT_LEAST_SHARE = 0.2  # ... and never as under this share of one
_QUOTA_PAUSE = 2.0  # a chain of a quota's windows starts at a named wait this long or longer
_QUOTA_WINDOWS_PER_UNIT = 3.0  # a counted quota is probed over this many windows a unit
_RETRY_AFTER_GRAIN = 1.0  # Retry-After's resolution: whole seconds, as a number or a date
_WAITS_APART = 1.5  # waits this far apart (or a tenth) were worked out, not fixed (a date's
#   second and more)
_DEAD_OVER_WAIT = 3.0  # refusing all for this many of its (same) named waits: no bucket
_QUOTA_POLLED = 0.5  # ... or at refusing all this long unpaced (a bucket of 2/s refills sooner)
_DATE_TOLERANCE = 0.03  # waits ending this close to whole seconds apart came from dates
_DATED_IN_A_ROW = 2  # ... when this many in a row did
_SAME_SECONDS = 1e-6  # pauses this close are the same length (a sum of clock readings)
_PAUSES_KEPT = 32  # the latest pauses kept, to tell a span's paused seconds from the rest
_CHAIN_KEPT = 8  # a quota's reopenings kept to count its rate between (the latest ones)
_QUOTA_CLOSE = 0.96  # a quota counted within this share is paced from the least it can be
_LATTICE_LEAST = 3  # ... where this many reopenings before the latest lie whole windows apart
_QUOTA_PAUSE_UNITS = 25.0  # ... and probed over this many times its pauses a unit
_SKIPPED_SLACK = 0.1  # reopenings windows apart lie this share of one off a whole number
_SHORT_WINDOW_LEAST = 0.5  # ... and a window between them held at least this share of one
_PACE_RECHECK = 0.1  # a wait for the pace longer than this looks at the pace again after it
_RATE_ROUND_TRIPS = 4.0  # a rate counted while sending spans at least this many round trips
_PROBE_REQUESTS = (100.0, 250.0)  # the probing unit lasts at least the first many requests
#   at the limit, and up to the second while they take at most _PROBE_REQUESTS_SECONDS
_PROBE_REQUESTS_SECONDS = 2.5
_BURST_UNITS = (7.0, 40.0)  # ... and this many times the seconds of it the burst holds, at
#   least and at most: a probe spends the burst while under 1.25x the limit (the curve's
#   excess over 2.3 units is 0.145 of one), or 1.07x (over 1.5 units, 0.025)
_BURST_UNIT_FROM = 0.5  # ... the least, where it holds this many seconds of it or more
_PROBE_OVER = 3.0  # ... more where 429s do not pause: what a probe's excess may have in flight
_DEAD_ROUND = 16  # this many 429s, nothing accepted sent since the first: a round refused whole
_TAIL_SLOT = 0.025  # successes are counted by when they were sent, in slots this long
_TAIL_SLOTS = 80  # ... over the last two seconds
_TAIL_ROUND_TRIPS = 4.0  # a tail counts if it spans this many round trips
_FIRST_SENDS = 4096  # the run's first sends kept, to tell when they began to drain a bucket
_REFUSED_AT_ONCE = 0.75  # 429s back within this share of the round trip: refused at once
_REFUSED_RTT_ALPHA = 1 / 16  # ... averaged over about the last 16 of them
_STALL_LATE = 0.02  # answers this much later than the least round trip, and twice it: a stall
_STALL_SPREADS = 3.0  # ... and this many times as far over it as answers usually come
_RTT_EXCESS_ALPHA = 0.125  # ... averaged over about the last eight answers not late
_RTT_EXCESS_LATE_ALPHA = 1 / 64  # ... and late ones, as if just late, eight times slower
_STALL_APART = 5.0  # ... at most once this many seconds
_STALL_CLUMP = 0.25  # ... and the 429s this soon after it are the clump's
_FALLBACK_CUT = 0.7  # a governor whose learning failed cuts the pace a 429 met to this ...
_FALLBACK_UNIT = 2.0  # ... and grows back over 2.5 of these (or of ten times the pause)
_RTT_LEAST_SPAN = 5.0  # the least round trip is kept over the last one or two such spans


class RateLimitStopError(ZyntroError):
    """The run stopped because of rate limiting; nothing pending was sent, all of it resumable.

    Attributes:
        reason: the sentence for the user (also the message).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimitStalledError(RateLimitStopError):
    """No request succeeded for ``stall_timeout`` seconds while the server refused them.

    Attributes:
        stalled_for: seconds since the last success (or the start, or the end of a long pause).
    """

    def __init__(self, stalled_for: float) -> None:
        super().__init__(f"rate limited: no request succeeded for {duration_text(stalled_for)}")
        self.stalled_for = stalled_for


class LongRetryAfterError(RateLimitStopError):
    """The server asked for a pause longer than ``max_pause`` and the run was told to stop.

    Attributes:
        retry_after: the pause the server asked for, in seconds.
        max_pause: the longest pause the run was willing to wait.
    """

    def __init__(self, retry_after: float, max_pause: float) -> None:
        super().__init__(
            f"rate limited: the API asks to wait {duration_text(retry_after)}, longer than "
            f"max_pause ({duration_text(max_pause)}); stopped so the run can be resumed later"
        )
        self.retry_after = retry_after
        self.max_pause = max_pause


class GovernorPhase(enum.Enum):
    """What the governor is doing, for a progress display."""

    PROBING = "probing"  # no limit met yet, or climbing above the one learned
    SETTLED = "settled"  # running at or just under the learned limit
    THROTTLED = "throttled"  # the server is refusing requests right now
    PAUSED = "paused"  # waiting out the server's Retry-After


@attrs.frozen(slots=True)
class LearnedLimit:
    """What a run learned of the API's rate limit, for the next run of the same client to
    start from (see :attr:`RateGovernor.learned`).

    The Zyntro API's limits hold for a credential, not for one run: a client that imports
    contacts, then their notes, then their call logs meets the same limit three times. A
    run that starts blind meets it with slow start's last round in flight (a quota of 100
    a window answered 24-64 requests 429 at once); one that starts from what the previous
    run learned meets it paced, with a round trip's worth of its pace in flight.

    Attributes:
        rate: the sustainable rate in requests per second, as the run measured it (before
            the governor's margin; ``None``: no rate learned).
        window: the requests in flight a cap on concurrency held the run to (``None``: no
            cap met).
        measured: ``rate`` was measured at a refusal; ``False``: only a floor, counted
            over a pause, that the run was held at (the limit may be lower).
    """

    rate: float | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(attrs.validators.gt(0.0)),
    )
    window: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            [attrs.validators.instance_of(int), attrs.validators.ge(1)]
        ),
    )
    measured: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


@attrs.frozen(slots=True)
class GovernorState:
    """A snapshot of the governor, cheap to take, for ``on_progress`` and the CLI bar.

    Attributes:
        phase: probing, settled, throttled or paused.
        rate_limit: the current pace in attempts per second (``None``: not paced).
        window: the current cap on requests in flight (``None``: only the run's concurrency).
        in_flight: attempts sent and not yet answered.
        accepted_rate: requests the server accepted per second, measured over the last second
            (in the run's first second, over the time so far).
        learned_limit: the sustainable rate measured at the last episode of 429s
            (``None`` until the server first refused).
        settled_rate: the rate to pass as ``max_per_second`` next time (``None`` until a
            limit was learned).
        rate_limited: 429 answers so far (none of them counts against an item).
        requests: attempts started so far.
        paused_until: when the current pause ends, on the governor's clock (``None``: not
            paused).
        pause_remaining: seconds until the pause ends (0 when not paused); a display adds it
            to the wall clock to say "resuming at 14:05".
        settled_window: the requests in flight a cap on concurrent requests holds the run
            to (``None``: no cap met); what to pass as ``concurrency`` next time.
        long_pause: the current pause is longer than ``max_pause``, waited out because
            ``on_long_pause="wait"``: a display says when the run resumes.
        started_from: what an earlier run learned of the limit, that this run started
            paced from (``None``: it started blind); see :attr:`RateGovernor.started_from`.
        fallback: the governor's learning failed (a bug, logged with its traceback; see
            :attr:`RateGovernor.fault`) and a plain fallback paces the rest of the run:
            every ``Retry-After`` honoured, the pace cut at a 429 and grown back.
    """

    phase: GovernorPhase
    rate_limit: float | None
    window: int | None
    in_flight: int
    accepted_rate: float
    learned_limit: float | None
    settled_rate: float | None
    rate_limited: int
    requests: int
    paused_until: float | None
    pause_remaining: float
    settled_window: int | None = None
    long_pause: bool = False
    started_from: LearnedLimit | None = None
    fallback: bool = False


class RateGovernor:
    """Paces every attempt of a run to the API's rate limit, which it learns from 429s.

    An :class:`~zyntro_async._observe.AttemptObserver`; see the module docstring for the
    control law.

    Args:
        max_per_second: a ceiling the pace never exceeds (``None``: no ceiling). Without
            429s the run goes at this pace; with them, at most at it.
        margin: the fraction of the measured limit to settle at (0 < margin <= 1).
        max_pause: the longest ``Retry-After`` (seconds) treated as an ordinary pause.
        on_long_pause: ``"wait"`` to wait out a longer pause anyway (the state shows
            ``paused_until``), ``"stop"`` to raise :class:`LongRetryAfterError` instead.
        stall_timeout: seconds without any success, while refused, after which
            ``before_attempt`` raises :class:`RateLimitStalledError` (``None``: never).
        initial_window: requests in flight allowed before the first answer; the window
            grows by one per success (slow start) until the server first refuses or the
            run's concurrency is the tighter bound (``None``: no slow start).
        learned: what an earlier run of the same client learned of the limit (its
            :attr:`learned`): the run starts paced at the rate's margin and searches upward
            from there (doubling each second until a 429 measures the limit again, so a
            limit that rose since costs a few seconds), and slow start opens at the cap's
            window. ``None``: start blind.
        clock: monotonic clock in seconds; sleep: async sleep (both injectable for tests).

    Raises:
        ValueError: an argument out of range (the message names it).
    """

    wants_last_byte = False  # it never needs the moment before a body's last byte

    def __init__(
        self,
        *,
        max_per_second: float | None = None,
        margin: float = 0.97,
        max_pause: float = 300.0,
        on_long_pause: Literal["wait", "stop"] = "wait",
        stall_timeout: float | None = 600.0,
        initial_window: int | None = INITIAL_WINDOW,
        learned: LearnedLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_per_second is not None and not max_per_second > 0:
            raise ValueError(f"max_per_second must be > 0, got {max_per_second!r}")
        if not 0 < margin <= 1:
            raise ValueError(f"margin must be in (0, 1], got {margin!r}")
        if not max_pause >= 0:
            raise ValueError(f"max_pause must be >= 0, got {max_pause!r}")
        if on_long_pause not in ("wait", "stop"):
            raise ValueError(f"on_long_pause must be 'wait' or 'stop', got {on_long_pause!r}")
        if stall_timeout is not None and not stall_timeout > 0:
            raise ValueError(f"stall_timeout must be > 0, got {stall_timeout!r}")
        if initial_window is not None and not (
            isinstance(initial_window, int) and initial_window >= 1
        ):
            raise ValueError(f"initial_window must be an integer >= 1, got {initial_window!r}")
        self.ceiling = max_per_second
        self.margin = margin
        self.max_pause = max_pause
        self.on_long_pause = on_long_pause
        self.stall_timeout = stall_timeout
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._start = now

        # Pace.
        self._rate: float | None = max_per_second  # None: unpaced
        self._last_due = -math.inf  # when the latest paced send was due
        self._limit: float | None = None  # W, the measured sustainable rate
        self._measured = False  # W was measured at a refusal, not only a floor
        self._items_left: int | None = None  # the run's items not finished (None: unknown)
        self._items_done = 0  # ... and finished
        self._curve: _Curve | None = None  # the pace between episodes
        self._search_from_pace: _Curve | None = None  # the latest search from a pace accepted
        self._unit = 1.0  # the probing curve's time unit: the last episode's length

        # Window of requests in flight.
        self._in_flight = 0
        # The send times of the requests in flight, in the order they were sent (keyed by a
        # number each send takes): the oldest tells up to when every answer is in.
        self._outstanding: dict[int, float] = {}
        self._sends = 0
        # Slow start (TCP's): the first attempts go out in a window that grows by one per
        # success, doubling each round trip, until the server first refuses or the window
        # no longer holds anything back. An unannounced limit is then met with about twice
        # what it accepted in flight, not with the run's whole concurrency: the flood of
        # 429s at the start (and its Retry-After pauses) is that much smaller.
        self._slow_start = initial_window is not None
        self._ended_slow_start = False  # by the 429 that begins the next episode
        self._window: int | None = initial_window
        self._window_grown_at = now
        self._window_floor = 1  # the least a cap could be, from what the run got through
        self._window_load = math.inf  # ... and what it had in flight on average, unrounded
        self._window_freed: anyio.Event | None = None  # what the waiting attempt waits on
        # A window tried for a cap just under the run's concurrency (see _try_a_cap). Kept
        # apart from _window: a window held for a cap takes each 429 at its edge for the
        # cap's (lowered, or dropped and the pace cut), and random 429s, which come at the
        # edge of whatever window the run is held to, would walk it down.
        self._trial: int | None = None
        self._trial_floor = 0  # ... lowered no further than this
        self._trial_at = 0.0  # ... when it last moved
        self._trial_over = False  # ... 429s came under its floor: no cap's, not tried again
        # The round out when the latest pause was set: its size, and how many of it came
        # back 429 (see _refused_in_a_clump).
        self._pause_round_refused = 0
        self._pause_round_size = 0
        self._turn = anyio.Lock(fast_acquire=True)

        # The current episode of refusals.
        self._in_episode = False
        self._episode_started = 0.0  # when its first 429 arrived
        self._previous_started = -math.inf  # ... the episode's before it
        self._previous_succeeded = 0  # successes in the run then
        self._again_started = -math.inf  # the first of the latest episodes refused back
        self._again_succeeded = 0  # ... to back, and successes in the run then
        self._again_latest = -math.inf  # ... and the latest of them
        self._episode_origin = now  # when the cycle it ends began
        self._episode_origin_succeeded = 0  # successes in the run when it began
        self._episode_estimated = False  # a cut in it was based on a measurement
        self._episode_by_window = False  # ... on a window held for a cap alone
        self._episode_window_void = False  # ... which was dropped since
        self._episode_cut = False  # the pace was cut in it (not only the window set)
        self._episode_first_succeeded = 0  # successes in the run before its first 429
        self._episode_successes = 0  # successes sent after its first 429 came back
        self._episode_ok_in_flight = 0  # in flight at their sends, summed
        self._episode_refused = 0  # 429s in it
        self._episode_refused_in_flight = 0  # in flight at their sends, summed
        self._episode_refused_min_in_flight = 1 << 30
        self._last_cut_at = -math.inf
        self._last_refusal_at = -math.inf  # arrival of the latest 429
        self._before_episode: tuple[float | None, _Curve | None, bool] = (None, None, False)
        self._lone_reverted = False  # an episode was undone as a lone stray's (once a run)
        self._rate_limited_before = 0  # 429s before the episode's first
        self._ended_at = -math.inf  # when the latest episode ended
        self._episode_first_ok_sent = math.inf  # the earliest success sent after it began
        self._episode_last_refused_sent = -math.inf  # the latest refused send in it
        self._episode_first_refused_sent = -math.inf  # the send its first 429 answered
        self._episode_refused_after = 0  # 429s of requests sent at or after that one
        self._episode_accepted_after = 0  # successes of requests sent at or after it
        self._episode_measure_from = now  # the short estimate counts sends from here
        self._episode_measured_sent = now  # ... up to the latest of their successes' sends
        self._episode_measured_sends: list[float] = []  # ... each success's send
        self._episode_far = False  # held far above a measured limit, to measure it again
        self._episode_cycle: float | None = None  # what the cycle before it accepted a second
        self._most_limit = 0.0  # the highest limit an episode has ended on
        self._high_limit = 0.0  # ... since the latest probe's episode (see _track_fall)
        self._fell_units = _FELL_PAUSE_UNITS  # a limit that fell is probed over this many pauses
        self._first_probe_set = False  # the first limit learned with pauses set its unit
        self._quick_limit = 0.0  # the limit probed quickly, until the next episode ends
        self._episode_above_limit = False  # its first 429 met a pace over the known limit
        self._episode_found_again = False  # a probe met the limit where the previous one did
        self._episode_guessed = 0.0  # the pace refused where only CUBIC's share set the limit
        self._episode_fell_from = 0.0  # ... the pace refused where the limit fell, cut blind
        self._fall_curve: _Curve | None = None  # the climb set after the latest such cut
        self._guess: float | None = None  # the limit that share set, while it is the limit
        self._round: _PausedRound | None = None  # the round in flight at its pause
        self._stray_paused_long = False  # a stalled server's 429 paused the run long
        self._probe_refused: float | None = None  # the pace the latest probe's 429 refused
        # The latest reopening of what seems a quota (see "a quota's count").
        self._reopened: _Reopening | None = None
        self._counted = False  # the limit is a quota's, counted over whole windows
        self._quota_window = 0.0  # ... whose windows last this long
        self._counted_close = False  # ... and its rate is known closely (paced from its least)
        self._waits_whole = True  # every wait named so far was whole seconds (no date)

        # The cycle since the previous episode.
        self._cycle_start: float | None = None  # the latest refused send (None: none yet)
        self._cycle_start_at = now  # when the 429 that started it came back
        self._cycle_successes = 0
        self._cycle_start_succeeded = 0  # successes in the run when it began

        # Refills: a token bucket is full after a pause, and empty at the first 429 after.
        self._refill_from = now  # the end of the latest pause (the start: none yet)
        self._refill_successes = 0  # successes sent since then
        self._refill_slowest = math.inf  # the slowest the run could send at since then
        self._pause_began = now  # when the latest pause began
        self._long_pause_until = now  # the end of a pause over max_pause, waited by choice
        self._drains: list[_Drain] = []  # the last drains that ended episodes, a chain
        self._first_burst: int | None = None  # successes before the run's first episode
        self._last_ok_sent = -math.inf  # the latest send of any success so far
        self._refused_rtt: float | None = None  # how long 429s take to come back (EWMA)
        self._first_seconds = 0.0  # ... and how long they took
        self._first_refused_sent = math.inf  # the send the run's first 429 answered
        self._first_late = 0  # successes sent up to it, answered after it
        self._first_sends: list[float] = []  # when the requests up to it were sent
        self._tail = _Tail()  # successes by when they were sent, over the last two seconds
        self._tail_trusted = True  # the first burst bounds the burst (see _tail_floor)
        self._tail_limit: float | None = None  # the limit, when the tail floor set it
        self._tail_instead = 0.0  # ... and what it would have been without it
        self._stall_at = -math.inf  # when a 429 last began a stalled server's clump
        self._rtt_least = math.inf  # the least round trip since _rtt_since
        self._rtt_least_before = math.inf  # ... and over the stretch before that
        self._rtt_since = now
        self._late_at = -math.inf  # when an answer last came back far later than usual

        # Pauses and stops.
        self._pause_until = now
        self._pause_set_at = -math.inf
        self._pauses: collections.deque[list[float]] = collections.deque(maxlen=_PAUSES_KEPT)
        self._first_wait: float | None = None  # the first Retry-After paused for
        self._waits_varied = False  # a later one differed from it (no fixed answer)
        self._wait_end: float | None = None  # when the latest named wait ended (this clock)
        self._dated_in_a_row = 0  # consecutive waits that ended whole seconds apart
        self._stall_origin = now  # last success, or the end of a long pause
        self._refused_in_a_row = 0  # 429s answered since the latest success
        self._in_a_row_since = now  # ... the first of them answered then
        self._stop: RateLimitStopError | None = None
        self._fault: Exception | None = None  # the learning's own error (see _contain)
        self._fallback_cut_at = -math.inf  # the fallback's latest cut (see _fall_back)

        # Measurements.
        self._share = 0.0  # recent share of 429s among answers
        self._answers = 0
        self._noise = 0.0  # share of 429s while settled under the limit
        self._stints = _Stints(now)  # the share of 429s at each pace (see _ignore_the_pace)
        self._creep = _Creep()  # 429s that each took the limit a little lower (see _Creep)
        self._plain_episode = False  # the last episode: a few 429s, no pause, no window
        self._srtt: float | None = None
        # How far answers not late come after the least (an EWMA). Not _rtt_spread: _srtt
        # averages the late answers too, and a stall's clump pulled it up within the clump.
        self._rtt_excess = 0.0
        self._ok_in_flight: float | None = None  # in flight at recent successes' sends (EWMA)
        self._edge_since = -math.inf  # the window's edge counts sends from here (set, resumed)
        self._at_edge = 0  # successes sent with the window full since then
        self._edge_seen = 0  # ... and successes sent since then in all
        self._second_start = now
        self._second_count = 0
        self._accepted_rate = 0.0
        self.requests = 0
        self.succeeded = 0
        self.rate_limited = 0
        self.most_in_flight = 0  # the most requests in flight at once so far

        self._seed: LearnedLimit | None = None
        if learned is not None:
            self.start_from(learned)

    def start_from(self, learned: LearnedLimit) -> None:
        """Begin where an earlier run left off, as the constructor's ``learned`` does.

        For a run that learns it only once started (a journal's, opened then), before its
        first attempt.

        Paced from the first request at the rate's margin, the run meets a limit that
        stayed put with a round trip of that pace in flight, not slow start's flood: a
        quota of 100 per 10 s answering its real wait refused 14-15% of a second 300-item
        run started blind, 1.3-1.6% started so (simulated). The pace is a search, not a
        probe: the limit may have risen (another endpoint, a plan upgraded). Held under a
        probing curve, a run against no limit at all took 12.7 s where blind it took 6.3 s,
        and 52 s with the slower probing of a run whose 429s paused it; searched, 8.4 s.

        Raises:
            RuntimeError: attempts were already paced, or it started from one already.
        """
        if self.requests or self._seed is not None:
            raise RuntimeError("start_from: only once, before the first attempt")
        self._seed = learned
        if learned.window is not None and self._window is not None:
            self._window = max(self._window, learned.window)
        if learned.rate is None:
            return
        self._limit, self._measured = learned.rate, learned.measured
        self._rate = self.margin * learned.rate
        self._curve = _Curve.exponential(self._clock(), self._rate, _SEED_UNIT)
        # Paced from the start, the run never drains the bucket at once: what got through
        # before its first 429 bounds no burst (see _tail_floor).
        self._tail_trusted = False

    # -- the observer ----------------------------------------------------------------------

    async def before_attempt(self, attempt: Attempt) -> None:
        """Wait for this attempt's turn: the pause, the pace, then a place in the window.

        Args:
            attempt: the attempt about to start.

        Raises:
            RateLimitStalledError: no success for ``stall_timeout`` while refused.
            LongRetryAfterError: the server asked for a pause over ``max_pause`` and
                ``on_long_pause="stop"``.
        """
        now = self._clock()
        if (
            self._rate is None
            and self._curve is None
            and self.ceiling is None
            and self._window is None
            and self._trial is None
            and self._stop is None
            and not self._refused_in_a_row
            and now >= self._pause_until
            and not self._turn.locked()
        ):
            # Nothing to wait for (no 429 met yet, no ceiling): the common case, kept cheap.
            self._sent(attempt, now)
            return
        # One attempt at a time waits for its turn, first come first served: the pace is
        # measured at the rate of the moment (a cut or a pause takes effect at once), and
        # the others wait behind it, not in a herd.
        async with self._turn:
            paced = False  # this attempt slept for the pace
            while True:
                now = self._clock()
                self._raise_if_stopped(now)
                if now < self._pause_until:
                    await self._sleep(self._pause_until - now)
                    paced = False  # a pause, not the pace, held it: start the pace afresh
                    continue
                window, rate = self._bounds(now)
                if window is not None and self._in_flight >= window:
                    self._window_freed = freed = anyio.Event()
                    await freed.wait()
                    paced = False
                    continue
                if not rate:
                    break
                # A paced send is due one interval after the previous one was *due*, not
                # after it went: a timer wakes late (a fraction of a millisecond, more on a
                # busy loop), and lateness counted from the actual send adds up (a pace of
                # 330/s delivered 270). A send that finds the pace idle starts it afresh,
                # and at most one interval is ever made up, so no burst is banked.
                interval = 1.0 / rate
                due = self._last_due + interval
                if due > now:
                    # A long interval (a quota polled every 2 s) is slept in parts: the pace
                    # may rise meanwhile (the server accepts again), and then is due sooner.
                    await self._sleep(min(due - now, _PACE_RECHECK))
                    paced = True
                    continue
                self._last_due = max(due, now - interval) if paced else now
                break
            if now >= self._refill_from:
                self._note_drain_pace(rate)
            self._sent(attempt, now)

    def _bounds(self, now: float) -> tuple[int | None, float | None]:
        """The window and the pace a send waits for now (see :meth:`before_attempt`).

        Both are worked out from what the run learned: an error there is a bug in this
        module, contained as one in the learning is (see :meth:`_contain`), and the send
        goes on under the fallback's bounds (none but ``max_per_second`` until a 429).
        """
        try:
            return self._window_now(), self._current_rate(now)
        except Exception as exc:  # a bug in the learned state must not end the run
            self._contain(exc, now)
        return None, self.ceiling

    def _note_drain_pace(self, rate: float | None) -> None:
        """Keep the slowest the run could send at since the latest pause (for the drains).

        The pace, or a window per round trip where a window holds the run under it.
        """
        if self._window is not None and self._srtt:
            window_rate = self._window / self._srtt
            rate = window_rate if not rate else min(rate, window_rate)
        if rate:
            self._refill_slowest = min(self._refill_slowest, rate)

    def _sent(self, attempt: Attempt, now: float) -> None:
        if self._first_burst is None and len(self._first_sends) < _FIRST_SENDS:
            self._first_sends.append(now)
        self._in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self._in_flight)
        self.requests += 1
        self._sends += 1
        self._outstanding[self._sends] = now
        attempt.call.state[self] = (now, self._in_flight, self._sends)

    async def before_last_byte(self, attempt: Attempt) -> None:
        """Nothing to do: the governor paces whole attempts."""

    def after_attempt(self, result: AttemptResult) -> None:
        """Learn from how an attempt ended: a 429 teaches the limit, a success the pace.

        Args:
            result: the classified outcome (only ``kind``, ``retry_after`` and the attempt's
                send time matter; other failures just leave the window).
        """
        now = self._clock()
        sent, in_flight_at_send, number = result.attempt.call.state.pop(
            self, (now - result.elapsed, self._in_flight, 0)
        )
        self._outstanding.pop(number, None)
        if self._in_flight > 0:
            self._in_flight -= 1
        refused = result.kind is FailureKind.RATE_LIMITED
        # Accepted and judged (an error envelope too); an attempt cancelled or refused by a
        # later observer (FATAL with no status) proves nothing about the limit.
        accepted = result.kind is None or (
            result.kind is FailureKind.FATAL and result.status is not None
        )
        if self._fault is None:
            counted = (self.succeeded, self.rate_limited)
            try:
                self._learn_from(
                    now, sent, in_flight_at_send, result, refused=refused, accepted=accepted
                )
            except Exception as exc:  # a bug in the learning must not end the run
                self.succeeded, self.rate_limited = counted  # counted again by the fallback
                self._contain(exc, now)
                self._fall_back_safely(now, sent, result, refused=refused, accepted=accepted)
        else:
            self._fall_back_safely(now, sent, result, refused=refused, accepted=accepted)
        # After learning: what it learned may have widened the window (an episode over).
        self._wake_one()

    def _learn_from(
        self,
        now: float,
        sent: float,
        in_flight: int,
        result: AttemptResult,
        *,
        refused: bool,
        accepted: bool,
    ) -> None:
        """What every answer teaches the governor (``after_attempt``, once it is counted)."""
        self._note_late(now, result.elapsed)
        if self._round is not None and self._round.holds(sent):
            self._round_answered(self._round, sent, refused=refused)
        if refused:
            self._answered(now, refused=True)
            self._stints.answered(sent, refused=True)
            self._creep.answered(refused=True)
            self._refused(now, sent, in_flight, result.retry_after)
        elif accepted:
            self._answered(now, refused=False)
            self._stints.answered(sent, refused=False)
            self._creep.answered(refused=False)
            self._accepted(now, sent, in_flight, result.elapsed)

    @property
    def fault(self) -> Exception | None:
        """The error the governor's own learning raised, if any (see :meth:`_contain`).

        ``None`` in every healthy run. Once set, the run is paced by the plain fallback of
        :meth:`_fall_back` to its end, and the error was logged with its traceback.
        """
        return self._fault

    def _contain(self, exc: Exception, now: float) -> None:
        """Keep a bug in the governor's learning from ending the run: fall back, say so.

        ``after_attempt`` must not raise (it runs inside the transport, after an answer
        that may have applied the request): an error raised by the heuristics that learn a
        limit went up through the item's request and its task group, and ended the whole
        bulk run, its items not yet sent neither sent nor reported. Such an error is a bug
        in this module, never in the caller's data: it is logged once, with its traceback,
        and the rest of the run is paced by :meth:`_fall_back` (honouring every
        ``Retry-After`` and ``max_per_second``, cutting the pace at a 429 and growing it
        back), which asks nothing of the state the error may have left half-updated.
        The same goes for an error in reading that state: the pace and window a send
        waits for (:meth:`_bounds`), the display's :meth:`snapshot`, and the fallback
        itself (:meth:`_fall_back_safely`). Only the first error is logged at ``ERROR``.
        """
        if self._fault is None:
            self._fault = exc
            logger.error(
                "the rate governor failed (a bug in learning the API's rate limit); the "
                "rest of this run is paced by its plain fallback (every Retry-After still "
                "honoured). Please report this with the traceback below.",
                exc_info=exc,
            )
        else:
            # Failed again, in the fallback or in what the failed learning left: said once
            # at ERROR already; each send must not log it again.
            logger.debug("the rate governor's fallback failed too", exc_info=exc)
        # Nothing the half-updated state holds paces the run from here: not its window (a
        # send held by it for good), nor its pace (taken mid-episode, a blind cut's floor
        # of 9.6/s held a run under a bucket of 100/s at 5-50/s for 18 s). Unpaced, as at
        # the start, until the fallback's first 429 cuts what was being sent; a pause
        # already set is still waited out, and max_per_second still holds.
        self._in_episode = False
        self._slow_start = False
        self._window = None
        self._trial = None
        self._round = None
        self._curve = None
        self._limit = None
        self._rate = None
        self._fallback_cut_at = -math.inf

    def _fall_back_safely(
        self, now: float, sent: float, result: AttemptResult, *, refused: bool, accepted: bool
    ) -> None:
        """:meth:`_fall_back`, and if even it fails, on under ``max_per_second`` alone.

        What it left out of the count (a 429 raised before it was counted) is counted here:
        the summary's 429s are every 429 the run met.
        """
        counted = self.rate_limited
        try:
            self._fall_back(now, sent, result, refused=refused, accepted=accepted)
        except Exception as exc:  # a bug in this module must not end the run
            if refused:
                if self.rate_limited == counted:  # failed before counting it
                    self.rate_limited += 1
                    self._refused_in_a_row += 1
                retry_after = result.retry_after
                if retry_after is not None and 0 < retry_after <= _ABSURD_PAUSE:
                    self._hold_pause(now, retry_after)  # honoured, whatever failed
            self._contain(exc, now)

    def _fall_back(
        self, now: float, sent: float, result: AttemptResult, *, refused: bool, accepted: bool
    ) -> None:
        """Pace the rest of a run whose learning failed (see :meth:`_contain`).

        A 429 pauses the run for its ``Retry-After`` (``max_pause`` and ``on_long_pause``
        as ever) and, once per round of sends, cuts the pace it met to 0.7 of it (unpaced:
        of what was being sent); the pace then grows back along a cubic curve to where it
        was refused in about 2.5 units, and probes above it ever faster: TCP's CUBIC with
        nothing measured. A unit is ``_FALLBACK_UNIT``, or ten times the 429's pause, so
        that pauses stay a small share of the run. ``max_per_second`` stays a ceiling,
        and the stall rule (no success for ``stall_timeout`` while refused) holds.
        """
        if accepted:
            self._count_success(now, result.elapsed)
            # What was accepted a second: the pace never grows past twice it (see
            # _current_rate). Left as the failed learning counted it, it fell towards zero
            # and held a run at 5/s under a bucket of 100/s.
            self._count_second(now)
            return
        if not refused:
            return
        self.rate_limited += 1
        self._refused_in_a_row += 1
        paused = 0.0
        retry_after = result.retry_after
        if retry_after is not None and 0 < retry_after <= _ABSURD_PAUSE:
            self._pause(now, retry_after)
            paused = retry_after
        if sent < self._fallback_cut_at:
            return  # sent before the latest cut: the same overload, already cut for
        rate = self._current_rate(now)
        if rate is None:
            # Unpaced so far: what was being sent, by Little's law.
            rtt = self._srtt if self._srtt else max(now - sent, 1e-3)
            rate = max(self._in_flight + 1, 1) / rtt
        cut = max(_MIN_RATE, _FALLBACK_CUT * rate)
        self._rate = cut
        self._curve = _Curve.cubic(now, cut, rate, max(_FALLBACK_UNIT, _PAUSE_UNITS * paused))
        self._fallback_cut_at = now

    def abandon(self, attempt: Attempt) -> None:
        """Forget an attempt that will never report (cancelled before its outcome).

        Args:
            attempt: an attempt whose ``before_attempt`` returned and whose
                ``after_attempt`` will not be called.
        """
        state = attempt.call.state.pop(self, None)
        if state is not None:
            self._outstanding.pop(state[2], None)
            if self._round is not None and self._round.holds(state[0]):
                self._round.pending -= 1  # no answer: counted as neither
            if self._in_flight > 0:
                self._in_flight -= 1
                self._wake_one()

    # -- what the display reads -------------------------------------------------------------

    def snapshot(self) -> GovernorState:
        """The governor's state now.

        Taking it never raises: a display must not end the run it shows. An error in
        working it out is a bug in this module, contained as one in the learning is (see
        :meth:`_contain`), and the state is then told from the plain counts.

        Returns:
            A frozen :class:`GovernorState`.
        """
        now = self._clock()
        try:
            return self._state(now)
        except Exception as exc:  # a bug in the learned state must not end the run
            self._contain(exc, now)
        paused = now < self._pause_until
        return GovernorState(
            phase=GovernorPhase.PAUSED if paused else GovernorPhase.PROBING,
            rate_limit=self.ceiling,
            window=None,
            in_flight=self._in_flight,
            accepted_rate=self._accepted_rate,  # the last whole second's
            learned_limit=None,
            settled_rate=None,
            rate_limited=self.rate_limited,
            requests=self.requests,
            paused_until=self._pause_until if paused else None,
            pause_remaining=max(0.0, self._pause_until - now),
            long_pause=now < self._long_pause_until,
            started_from=self._seed,
            fallback=True,
        )

    def _state(self, now: float) -> GovernorState:
        paused = now < self._pause_until
        rate = self._current_rate(now)
        if paused:
            phase = GovernorPhase.PAUSED
        elif self._in_episode:
            phase = GovernorPhase.THROTTLED
        elif self.settled_window is None and (
            self._limit is None or (rate is not None and rate > self._limit)
        ):
            # Held to a cap's window, the pace beyond it is no probe: the window binds.
            phase = GovernorPhase.PROBING
        else:
            phase = GovernorPhase.SETTLED
        return GovernorState(
            phase=phase,
            rate_limit=rate,
            window=self._window_now(),
            in_flight=self._in_flight,
            accepted_rate=self._measured_accepted_rate(now),
            learned_limit=self._limit,
            settled_rate=self.settled_rate,
            rate_limited=self.rate_limited,
            requests=self.requests,
            paused_until=self._pause_until if paused else None,
            pause_remaining=max(0.0, self._pause_until - now),
            settled_window=self.settled_window,
            long_pause=now < self._long_pause_until,
            started_from=self._seed,
            fallback=self._fault is not None,
        )

    @property
    def window_opened(self) -> int | None:
        """Requests in flight at once that the API took without a single 429, if none came.

        What the next run of the same client may start its slow start at (``None``: the API
        answered 429, so the next run starts small again).
        """
        return self.most_in_flight if not self.rate_limited and self.most_in_flight else None

    @property
    def started_from(self) -> LearnedLimit | None:
        """What an earlier run learned, that this one started paced from (``learned`` or
        :meth:`start_from`); ``None`` for a run that started blind.

        Such a run goes at the learned rate's margin before any 429, and searches up from
        it: a display says why it is paced while the API has refused nothing yet.
        """
        return self._seed

    @property
    def learned(self) -> LearnedLimit | None:
        """What this run learned of the API's limit, for the client's next run to start from.

        The limit measured (or the floor the run is held at, as ``settled_rate`` counts
        it) and the window a cap held the run to; what the run started from if it met no
        429 since; ``None`` when it knows nothing, or its learning failed (see ``fault``).
        """
        if self._fault is not None:
            return None  # what the failed learning left is no limit to start from
        if not self.rate_limited:
            return self._seed
        rate = self._limit_held(self._current_rate(self._clock()))
        window = self.settled_window
        if rate is None and window is None:
            return None
        return LearnedLimit(rate, window, measured=rate is None or self._measured)

    @property
    def stopped(self) -> RateLimitStopError | None:
        """Why the governor stopped the run (every later attempt raises it), or ``None``."""
        return self._stop

    @property
    def settled_rate(self) -> float | None:
        """The rate to pass as ``max_per_second`` next time (``None``: none measured yet).

        A floor counted over a pause (not measured at a refusal) counts only while the run
        is held at it: once the pace has climbed well past it, it says nothing. Held to a
        cap's window, the rate is what the window lets through (see ``settled_window``).
        ``None`` as well once the learning failed (see ``fault``): the fallback measures
        nothing.
        """
        if not self.rate_limited or self._fault is not None:
            return None  # no limit met in this run (one it started from may have risen)
        now = self._clock()
        rate = self._current_rate(now)
        settled = self._limit_held(rate)
        window = self.settled_window
        if window is not None and self._srtt:
            # Held under a cap on concurrency, the window sets the rate: what it lets through
            # a round trip (the pace too, where it is the tighter bound).
            by_window = window / self._srtt
            if rate is not None:
                by_window = min(by_window, rate)
            settled = by_window if settled is None else min(settled, by_window)
        if settled is None:
            return None
        settled *= self.margin
        return settled if self.ceiling is None else min(settled, self.ceiling)

    def _limit_held(self, pace: float | None) -> float | None:
        """The limit, if it still says something at ``pace``: measured, or a floor the pace
        is held at (once the pace has climbed well past a floor, it says nothing).

        Nor a floor the pace searches up from (see _search_up: after 429s found to be
        strays, or an unmeasured limit that rose): nothing holds the run there. A run of
        2,000 items refused 6% of the time at random ended a second into such a search, and
        passed the floor on as the rate to keep to next time (``settled_rate``).
        """
        limit = self._limit
        if limit is None or self._measured:
            return limit
        if self._searching_up():
            return None
        return limit if pace is not None and pace <= _FLOOR_HELD * limit else None

    @property
    def settled_window(self) -> int | None:
        """The requests in flight a cap on concurrency held the run to (``None``: no cap met).

        What to pass as the run's ``concurrency`` next time: a run that never has more in
        flight than the cap accepts never meets it.
        """
        window = self._window if self._window is not None else self._trial
        if self._slow_start or window is None or not self.rate_limited:
            return None
        return window

    # -- pace and window ----------------------------------------------------------------------

    def _current_rate(self, now: float) -> float | None:
        rate = self._rate
        if self._curve is not None and not self._in_episode:
            # Never far above what the server was seen to accept: a pace that nothing uses
            # (the window or the workers hold the run back) must not grow without bound.
            # What is sent right now (in flight over the round trip) counts too: it follows
            # the pace within a round trip, so a search from a low floor is not held to
            # doubling once a second.
            sending = self._in_flight / self._srtt if self._srtt else 0.0
            accepted = self._measured_accepted_rate(now)
            resumed = now - self._refill_from
            if 0.0 < resumed < 1.0 and resumed >= _RATE_ROUND_TRIPS * (self._srtt or 0.0):
                # A pause ended (or the run began) within the last second: what was
                # accepted since then, not over a second that held the pause too. Counted
                # so, a search after a pause was held at its start for up to a second, then
                # doubled at once when the second rolled over: a bucket with a burst of one
                # refused that jump (200/s at 5 ms answering "Retry-After: 1": refused at
                # 210/s after 105/s, and its tail floor, over the slow second, told nothing;
                # 0.72-0.75 of it).
                accepted = max(accepted, self._refill_successes / resumed)
            cap = _GROWTH_CAP * max(accepted, self._limit or 0.0, sending)
            rate = min(self._curve.rate(now), max(cap, self._curve.start))
        if rate is None:
            return self.ceiling
        return rate if self.ceiling is None else min(rate, self.ceiling)

    def work_left(self, items_left: int | None, items_done: int) -> None:
        """Tell the governor how much of the run is left: ``items_left`` items not finished
        (``None``: unknown, an input of no length), after ``items_done`` finished.

        The bulk engine calls it as each item finishes, where its input has a length. A
        probe that costs a pause pays off only over what is left of the run to use what
        it finds: the first limit a run meets is probed soon only where enough is left
        (see ``_paused_unit``). Without it, that limit is probed as any other.
        """
        self._items_left, self._items_done = items_left, items_done

    def _work_left_for(self, seconds: float) -> bool:
        """Whether the run's work left takes ``seconds`` or more at the known limit: its
        items left, each as many successful requests as a finished item took so far."""
        items_left, limit = self._items_left, self._limit
        if items_left is None or not self._items_done or not limit:
            return False
        per_item = max(1.0, self.succeeded / self._items_done)
        return items_left * per_item >= seconds * limit

    def _window_now(self) -> int | None:
        """How many requests may be in flight now: the window, or less in a blind episode.

        With nothing known of the limit, an episode lets in flight at most twice what the
        server accepted of the requests sent since its first refused one (at least one): a
        quota run out accepts none, so the run waits for the round in flight to come back
        instead of sending into it; a bucket accepts its rate, a cap its cap per round
        trip, so the run offers twice what they take, enough to measure them.
        """
        window = self._window
        if self._trial is not None:
            window = self._trial if window is None else min(window, self._trial)
        if self._in_episode and self._episode_blind and not self._episode_estimated:
            held = max(1, 2 * self._episode_accepted_after)
            return held if window is None else min(window, held)
        return window

    def _wake_one(self) -> None:
        freed = self._window_freed
        if freed is None:
            return  # nobody waits: called on every answer, so nothing more to work out
        window = self._window_now()
        if window is None or self._in_flight < window:
            self._window_freed = None
            freed.set()

    def _set_window(self, window: int | None, now: float) -> None:
        self._window = window
        if window is not None:
            self._trial = None  # a window measured for a cap: it takes the trial's place
        self._window_grown_at = now
        self._restart_edge(now)
        self._wake_one()

    def _restart_edge(self, since: float) -> None:
        """Count the successes at the window's edge (and in all) afresh, from ``since``."""
        self._edge_since, self._at_edge, self._edge_seen = since, 0, 0

    def _hold_window(self, window: int, now: float, drain: _Drain) -> None:
        """Take a 429 for a cap on concurrent requests: hold the run to ``window`` in flight.

        A cap lets through at most a window per round trip, so what the run got through
        just before (its accepted rate times the round trip, rounded) bounds how low the cap
        can be: the window is never lowered under it. A 429 that would
        take it lower is no cap's: a token bucket with a small burst refuses requests that
        arrived close together, and those come with more in flight than the rest. The
        accepted rate is the last second's, or the drain's since the latest pause ended if
        higher: a second that held a pause (an HTTP date's, to the next whole second)
        counted the pause too, and a floor of one let a bucket of 80/s take the window to one.
        """
        accepted = max(self._measured_accepted_rate(now), drain.rate(self._srtt))
        self._window_load = accepted * self._srtt if self._srtt else math.inf
        self._window_floor = max(1, round(accepted * (self._srtt or 0.0)))
        self._set_window(window, now)

    def _grow_slow_start(self, now: float) -> None:
        assert self._window is not None
        self._window += 1
        if 2 * self._in_flight < self._window and not self._turn.locked():
            # The run's own concurrency holds it back now: the window has done its job.
            self._end_slow_start(now)
        else:
            self._wake_one()

    def _end_slow_start(self, now: float) -> None:
        self._slow_start = False
        self._set_window(None, now)

    def _grow_window(self, now: float) -> None:
        if self._window is not None and now - self._window_grown_at >= (
            _WINDOW_PROBE_UNITS * self._unit
        ):
            self._window += 1
            self._window_grown_at = now
            self._restart_edge(now)
            self._wake_one()

    # -- learning ---------------------------------------------------------------------------

    def _count_success(self, now: float, elapsed: float) -> None:
        """Count a success: the stall bound restarts, the round trip is averaged in."""
        self.succeeded += 1
        self._stall_origin = max(self._stall_origin, now)
        self._refused_in_a_row = 0
        self._srtt = elapsed if self._srtt is None else 0.875 * self._srtt + 0.125 * elapsed

    def _count_second(self, now: float) -> float | None:
        """Count a success in the second under way; when a second rolled over first, keep
        what it accepted and return when it began."""
        began = None
        if now - self._second_start >= 1.0:
            began = self._second_start
            self._accepted_rate = self._second_count / (now - began)
            self._second_start, self._second_count = now, 0
        self._second_count += 1
        return began

    def _accepted(self, now: float, sent: float, in_flight: int, elapsed: float) -> None:
        self._count_success(now, elapsed)
        if now - self._rtt_since >= _RTT_LEAST_SPAN:
            self._rtt_least_before, self._rtt_least = self._rtt_least, math.inf
            self._rtt_since = now
        self._rtt_least = min(self._rtt_least, elapsed)
        self._ok_in_flight = (
            in_flight
            if self._ok_in_flight is None
            else self._ok_in_flight + _OK_IN_FLIGHT_ALPHA * (in_flight - self._ok_in_flight)
        )
        began = self._count_second(now)
        if began is not None:
            self._check_rose(now, began)
            if self._trial is not None and now - self._trial_at >= _TRIAL_REGROW:
                self._regrow_trial(now)
        if self._slow_start:
            self._grow_slow_start(now)
        if self._cycle_start is None or sent > self._cycle_start:
            self._cycle_successes += 1
        if sent >= self._refill_from:
            self._refill_successes += 1
        self._last_ok_sent = max(self._last_ok_sent, sent)
        if self._window is not None and sent >= self._edge_since:
            self._edge_seen += 1
            if in_flight >= self._window:
                self._at_edge += 1
        self._tail.add(sent)
        if sent <= self._first_refused_sent and self._first_burst is not None:
            self._first_late += 1
        if self._in_episode:
            if sent >= self._episode_first_refused_sent:
                if not self._episode_accepted_after and self._episode_blind:
                    # The episode's window opens from here: the short estimate counts from
                    # here too (before, it held the run to one request in flight).
                    self._episode_measure_from = self._episode_measured_sent = now
                    self._episode_measured_sends = []
                self._episode_accepted_after += 1
            if sent >= self._episode_measure_from:
                self._episode_measured_sent = max(self._episode_measured_sent, sent)
                self._episode_measured_sends.append(sent)
            if sent >= self._episode_started:
                self._episode_successes += 1
                self._episode_ok_in_flight += in_flight
                self._episode_first_ok_sent = min(self._episode_first_ok_sent, sent)
            # Over once a request sent after the latest 429 came back (the server accepts
            # again), and that was a measuring span ago; held far above a measured limit,
            # once the successes since the first 429 measure it (see _refused).
            if (
                sent >= max(self._last_cut_at, self._last_refusal_at)
                and now - self._last_refusal_at >= self._measure_span()
                and (
                    not self._episode_far
                    or self._episode_cut
                    or self._measured_rate(now) is not None
                )
            ):
                if self._episode_far and not self._episode_cut:
                    # Held far above the limit and never cut: what the server accepted of
                    # what was sent since is the limit now (at least).
                    measured = self._measured_rate(now)
                    if measured is not None:
                        self._learn(max(self._limit or 0.0, measured), None)
                self._end_episode(now)
        else:
            self._grow_window(now)

    def _check_rose(self, now: float, began: float) -> None:
        """Search again once a whole second accepted clearly more than the known limit.

        The limit rose: the curve, probing over units of 10 s or more because each probe
        costs a pause, would take several more units to reach it (a 300/s bucket restored
        from 150/s: from 160/s to 300/s in 20 s). A search from the pace now doubles each
        second, and its first 429 measures the new limit. Only where the curve is that
        slow: with a unit of a second or so it climbs as fast itself, and a search's
        overshoot costs more 429s (searching at 5% over, a cap of 4 at 50 ms taken for a
        rate went from 0.97 to 0.94 of it). Only 15% over: at 5%, a 1,000/s bucket with a
        burst of 5 measured at 943/s searched, and its overshoot was taken for a cap (0.90
        to 0.82 of it). Only with a burst known to be at most a second of the limit: a
        larger one, or one unknown (a bucket drained when the run began), fills such a
        second by itself. Not for a counted quota, which accepts over its rate for whole
        windows after a pause, nor with a window set for a cap. Nor for a second that
        began before the run's first 429: it counted slow start's flood, unpaced, which
        spent the bucket's whole burst (a bucket of 30/s with a burst of 30, met with 27
        in flight and measured at 35/s, took its first second's 59 for a limit that rose,
        searched up to 57/s, and came down from there 3% a probe: 16% of requests refused).
        """
        curve, limit = self._curve, self._limit
        if (
            self._in_episode
            or curve is None
            or curve.doubling
            or curve.unit < _ROSE_UNIT
            or limit is None
            or self._counted
            or self._window is not None
            or not (self._tail_trusted and self._first_burst)
            or self._first_burst > limit * _ROSE_BURST_SECONDS
            or self._accepted_rate <= _ROSE * limit
            or began < self._first_refused_sent
        ):
            return
        pace = self._current_rate(now) or self._accepted_rate
        self._search_up(now, self._accepted_rate, max(pace, self._accepted_rate))

    def _search_up(self, now: float, limit: float, start: float) -> None:
        """Take ``limit`` for the limit and search up from ``start``, doubling each second.

        Both callers search from a pace the server was accepting with no window set (a cap
        would have held one), so the search's 429 is the rate's (see
        _refused_above_the_cycle).
        """
        # Never from nothing: a limit of 0/s divides by zero where the probes are timed.
        limit, start = max(_MIN_RATE, limit), max(_MIN_RATE, start)
        self._limit = limit
        self._curve = self._search_from_pace = _Curve.exponential(now, start, 1.0)
        self._rate = self._curve.start

    def _answered(self, now: float, *, refused: bool) -> None:
        """Keep the share of 429s among answers: recent, and while settled (stray ones)."""
        # A plain mean over the first answers (the first one counts in full), then an EWMA.
        self._answers += 1
        self._share += max(_SHARE_ALPHA, 1 / self._answers) * (refused - self._share)
        if (
            not self._in_episode
            and self._limit is not None
            and not (self._episode_guessed and now - self._ended_at < self._unit)
        ):
            # Settled under the limit; not within a time unit of an episode that only
            # guessed it (0.7 of the pace refused, over every count; ``_episode_guessed``
            # holds until anything measures the limit or another episode begins): 429s
            # then say that the guess fell over the rate, not that the server refuses now
            # and then whatever the pace. Counted as noise, they raised it along with the
            # share of 429s (averaged 2.5 times slower, and the share must clear 2.5 times
            # it), the share never cleared it, and each 429 was a stray for good: a 302/s
            # bucket with a burst of 302 (a probe ran it out at 496/s) was held at 347/s,
            # 15% of its requests refused. (Not after every episode: stray 429s at random,
            # 2.5% of the answers, then began an episode each, and the pace ratcheted down.)
            rate = self._current_rate(now)
            if rate is not None and rate <= self._limit:
                # At most the share of stray 429s a stint may show: rising with a flood of
                # 429s, the noise can keep 2.5 times itself over their share as it climbs
                # (averaged 2.5 times slower), and each of them passes for a stray (set to
                # random 429s' 14% and met by a quota run out, a run was refused 99% of the
                # time at 200/s): over half the answers refused is always a limit's doing.
                self._noise = min(_NOISE_MOST, self._noise + _NOISE_ALPHA * (refused - self._noise))

    def _stray(self, now: float) -> bool:
        """Whether 429s are too rare just now to mean a limit (see "Stray 429s")."""
        if self._refused_in_a_row >= _FLOOD and now - self._in_a_row_since > _STALL_CLUMP:
            # However many strays the run has met: 429s at random, even at the most noise
            # (a fifth of the answers), come eight in a row a few times in a million
            # answers. Weighed only by their share, a flood had to be half the answers
            # before it counted (the noise, rising with it, let it pass for strays until
            # then): a quota behind a gateway's bucket, its windows taken for 429s that
            # ignore the pace, was sent 130-160 requests into each window it closed. Over a
            # quarter of a second: a server that stalled refuses the tail of the clump it
            # then takes in at once, a dozen 429s or more in a row answered together, before
            # the late answers that tell the stall come back (see _stalled).
            return False
        if self._limit is None:
            return self._share < _FIRST_SIGNAL_SHARE
        return self._share <= _NOISE_MULTIPLE * self._noise

    def _ignore_the_pace(self, now: float, paused: float) -> bool:
        """Whether the 429s that would begin an episode are strays: they ignore the pace.

        Each episode's first 429 ends a stint (see :class:`_Stints`). A limit refuses a pace
        over it and accepts one under it; 429s refused as often at a pace far under one
        that was accepted are a service's now and then, at whatever share (a busy shard, a
        fault), not a limit's. Taken for a limit, each cut the pace, the next ones came at
        the same share of the answers, and cut it again: with 6% of answers a random 429,
        8,000 items on a server with no limit took 156 s (3.4 s without them), with 10%,
        35-1,926 s; a 300/s bucket, itself refused over its rate, was held at 0.1-0.2 of it.
        Their share becomes the noise (a 429 at that share is a stray from then on), and
        what was learned from them goes: the run searches up again from the peak stint's
        rate, a floor, doubling each second (as after a limit that rose). Not for 429s
        that pause the run (each is the answer a limit gives, see "Stray 429s"), nor with
        a quota counted or a window of more than one held for a cap (they are measured
        otherwise: allowed with any window, a 143/s bucket with a burst of 72 at 80 ms,
        held to a window, found its 429s to ignore the pace, and 2.6% of its requests were
        refused where 1.2% were), unless the pace kept the run under that window (see
        _window_idle): then the pace, not the window, set what was sent.

        Nor do 429s that each took the limit a little lower, one after another: a limit
        refuses only a pace over it, and one measured again where it was probed finds it
        where it was. Random 429s after an unlucky start (the peak stint's share 19%, over
        37 answers) met none of the stints' tests, and each that cleared the noise measured
        a limit a few percent under the pace it came at (6.4/s, 6.1, 5.8, ... 3.1): 2,000
        items took 1,676 s at 6%, 2,440-2,694 s at 10% (see :class:`_Creep`).
        """
        idle = self._window_idle()
        found = self._stints.close(now)
        crept = self._creep.episode(
            self._limit,
            plain=self._plain_episode
            and not paused
            and not self._counted
            and (self._window is None or idle),
        )
        found = found or crept
        if found is None or paused or self._counted:
            return False
        if self._window is not None:
            if self._window > 1 and not idle:
                return False  # a cap's window is measured otherwise (see the docstring)
            # A window of one, or one the pace kept the run under, and still 429s: no cap
            # refuses a request alone in flight, nor one under it. Random 429s in a run's
            # first round trips were taken for a cap, its window lost a place a 429 down to
            # one, and 2,000 items took an hour (10 s so). Taken for a cap of two or three
            # (a 429 with more in flight than the successes before it), the window held,
            # and the 429s that came with one in flight each cut the pace: 2,000 items at
            # 6% refused at random took 40 s (1 s so), held at 12/s.
            self._set_window(None, now)
        noise, floor = found
        self._stints.peak = None
        self._noise = max(self._noise, min(noise, _NOISE_MOST))
        self._search_up(now, floor, floor)
        self._measured = False
        self._unit = 1.0
        self._most_limit = self._high_limit = 0.0
        self._fell_units = _FELL_PAUSE_UNITS
        self._episode_guessed = 0.0
        self._tail_limit = None
        self._probe_refused = None
        self._drains.clear()
        self._reopened = None
        return True

    def _window_idle(self) -> bool:
        """Whether the window held for a cap held nothing back: the pace kept the run under it.

        Of the successes since it was set (or last grew, or a pause ended), at least
        ``_IDLE_SEEN``, at most ``_IDLE_AT_EDGE`` were sent with it full. A cap refuses only
        a request over it, so the 429s the run meets meanwhile are not that cap's. Never
        slow start's window, which is no cap's (and goes only as slow start ends).
        """
        return (
            not self._slow_start
            and self._window is not None
            and self._edge_seen >= _IDLE_SEEN
            and self._at_edge <= _IDLE_AT_EDGE * self._edge_seen
        )

    def _least_rtt(self) -> float:
        """The least round trip over the last 5-10 s (``inf`` before any success)."""
        return min(self._rtt_least, self._rtt_least_before)

    def _note_late(self, now: float, elapsed: float) -> None:
        """Keep when an answer last came far later than the round trips of late.

        Over the least of them by the least itself and 20 ms at least, and by three times
        what answers usually come over it (an average of those not late, which a stall's
        clump of late ones barely moves: they count eight times slower, as if just late).
        Where round trips vary by 90% (100 ms give or take 90), nearly every answer came
        twice the least late, so each 429 that met a cap at its window (every 5 s at most)
        was taken for a stalled server's and the window never came down to the cap: a cap
        of 17 with 20 workers answering in seconds held a window of 18, a pause of a second
        every 10 s (simulated: 0.75 of it in the run's second half; 0.85 so, the window at
        17 from 5 s on). Where they vary little, the least and 20 ms decide, as before.
        """
        least = self._least_rtt()
        if not math.isfinite(least):
            return
        over = elapsed - least
        late = max(least, _STALL_LATE, _STALL_SPREADS * self._rtt_excess)
        if over > late:
            self._late_at = now
            self._rtt_excess += _RTT_EXCESS_LATE_ALPHA * (late - self._rtt_excess)
        else:
            self._rtt_excess += _RTT_EXCESS_ALPHA * (over - self._rtt_excess)

    def _stalled(self, now: float, sent: float) -> bool:
        """Whether a 429 outside an episode came from a server that stalled, not from the pace.

        A server that stops reading for a while (a garbage collection, a busy moment) takes
        in what arrived meanwhile all at once, and a bucket with a small burst refuses the
        tail of that clump whatever the pace was. The answers held up come back late, each
        at least twice the least round trip of the last seconds: a 429 among them (within a
        round trip of the latest) begins a clump, and it, the 429s of the requests sent
        before it came back and those of the next quarter second (the server works through
        its backlog, sends that meet an emptied bucket) are the clump's. Nothing is learned
        from them; their pause is still honoured. Only at a pace near what the server was
        found to accept, probes included (a flood's 429s, or a search's far over the limit,
        come late too: taken for a clump, a bucket answering ``Retry-After: 0`` was refused
        37 times more at 1.5 s), never against a counted quota, and at most one clump every
        few seconds (a server always that slow is met as a limit).

        Nor while a search climbs (the curve doubling): its 429 is the one it looks for, and
        where answers often come back twice the least round trip late (a latency that varies
        by half or more), that alone made it a clump's. A 300/s bucket with a burst of 6 at
        50 ms answering in seconds, searched for again once the run accepted 15% over a limit
        counted low, had the search's 429 ignored; the search doubled on through the pause,
        met the bucket at 2.5 times its rate, and the floods that followed were taken for a
        cap's: 0.61-0.72 of its rate in the run's second half (0.81-0.84 so).
        """
        if sent <= self._stall_at or now - self._stall_at <= _STALL_CLUMP:
            return True
        rate = self._current_rate(now)
        if (
            self._limit is None
            or self._counted  # a quota counted over whole windows refuses only once run out
            or rate is None
            or rate > _HOLD_ABOVE * self._limit
            or (self._curve is not None and self._curve.doubling)  # a search: see above
            or now - self._late_at > self._least_rtt()
            or now - self._stall_at < _STALL_APART
        ):
            return False
        self._stall_at = now
        return True

    def _try_a_cap(self, now: float, in_flight: int) -> None:
        """Try a window just under what was in flight at a rare 429 that paused the run.

        A cap on concurrent requests a few under the run's concurrency (15 with 16 workers,
        61-63 with 64) refuses only when nearly every worker is out at once: its 429s stay
        under the share that first reads as a limit, and each is a stray that pauses the
        run and teaches nothing. The pause ends with every worker sending at once, the cap
        refuses one of them, and the run pauses again: simulated, 20 s of work (15,000 items)
        against a cap of 15 with 16 workers at 20 ms answering "Retry-After: 1" took 650 s,
        0.03 of the cap. Taken for a limit's, such 429s at random (a busy shard) each cut
        the pace, and the run slowed threefold (see "Stray 429s").

        So such a 429 costs a place: the run is held one under the most that were in flight
        while it was out (a cap's 429 needs more out than the cap; at a pause's end, all of
        them leave together), and each later one lowers it again. A cap is found when its
        429s stop. 429s at random go on whatever the window: once one would take it more
        than two places (or a sixteenth) under where it began, they are no cap's, and the
        window goes for the rest of the run. What it costs them is a place or two for a
        while (the pauses they ask for cost far more). Let down to three quarters, it held
        a bucket the workers overrun by a little under its rate (250/s at 200 ms answering
        "1", simulated: 0.98 -> 0.79 of it on one seed, 0.86 with two places). The window
        grows back a place every 30 s without one (a cap that rose, or random 429s that
        stopped before they told).
        """
        if self._trial_over or self._limit is not None or self._curve is not None:
            return
        if self._window is not None or self._slow_start or self._counted:
            return
        most = max(in_flight, self._in_flight + 1)  # the refused one left already
        if self._trial is None:
            if most < _TRIAL_LEAST:
                return
            places = max(_TRIAL_LEAST_PLACES, math.ceil(_TRIAL_PLACES * most))
            self._trial_floor = most - places
            self._trial = most - 1
        elif most - 1 < self._trial_floor:
            self._trial, self._trial_over = None, True
            self._wake_one()
            return
        else:
            self._trial = min(self._trial - 1, most - 1)
        self._trial_at = now

    def _regrow_trial(self, now: float) -> None:
        """Give the tried window back a place (see _try_a_cap).

        Past the most the run ever had in flight, it holds nothing back, and goes.
        """
        assert self._trial is not None
        self._trial += 1
        self._trial_at = now
        if self._trial >= self.most_in_flight:
            self._trial = None
        self._wake_one()

    def _refusal_is_stray(self, now: float, sent: float, paused: float, in_flight: int) -> bool:
        """Whether a 429 outside an episode teaches nothing (see "Stray 429s").

        A stalled server's (see _stalled), or too rare among the recent answers, unless it
        paused a run that has met a limit before (an episode ended), or it met the window's
        probe above a cap: each is the answer a limit gives, however rare. A 429 that pauses
        the run long is only ever a stalled server's, and once at most: the pause costs its
        whole length either way, and taken for a stray it taught nothing (a cap of 15 with
        16 workers at 20 ms answering "Retry-After: 30": 150 s for 20 s of work, 89 s so).
        """
        if paused >= _LONG_PAUSE:
            if self._stray_paused_long:
                return False
            self._stray_paused_long = self._stalled(now, sent)
            return self._stray_paused_long
        if self._stalled(now, sent):
            return True
        if not self._stray(now):
            return False
        if self._limit is None and now < self._pause_until and self._refused_in_a_clump():
            return False
        if self._counted:
            return False  # a quota counted over whole windows refuses only once run out
        if paused and (self._limit is not None or self._curve is not None):
            return False
        probe = not self._slow_start and self._window is not None and in_flight >= self._window
        return not probe

    def _refused_in_a_clump(self) -> bool:
        """Whether the round out at the latest pause came back 429 in a clump: a limit's.

        A 429 that pauses the run, with no limit known, is a stray while 429s are rarer
        than 5% of the recent answers. Counted so, a bucket the run's workers overrun by
        a little was never learned: each pause refills its burst, the run drains it, and
        the round out then comes back with 5-7 of its 64 refused, a share of the answers
        of the whole cycle of 1-2%. Each clump paused the run a second and taught nothing:
        over real sockets a 544/s bucket with a burst of 108 at 100 ms (64 workers reach
        640/s) answering "Retry-After: 1" held 0.64-0.72 of its rate. 429s at random
        refuse a round as they refuse anything, a share of it: five or more of one round
        (and 5% of it) at 1% of the answers is a few rounds in a thousand. Taken from three,
        random 429s at 1% were learned from, and 8,000 simulated items took 361-2,298 s
        (62 s so).
        """
        least = max(_PAUSED_ROUND_REFUSED, _FIRST_SIGNAL_SHARE * self._pause_round_size)
        return self._pause_round_refused >= least

    def _refused(self, now: float, sent: float, in_flight: int, retry_after: float | None) -> None:
        self.rate_limited += 1
        elapsed = now - sent
        self._refused_rtt = (
            elapsed
            if self._refused_rtt is None
            else self._refused_rtt + _REFUSED_RTT_ALPHA * (elapsed - self._refused_rtt)
        )
        self._refused_in_a_row += 1
        if self._refused_in_a_row == 1:
            self._in_a_row_since = now
        self._last_refusal_at = now
        paused = 0.0  # how much longer everyone waits because of this 429
        edge_held = self._edge_held()  # before this 429's own pause restarts the count
        pace = self._current_rate(now)  # the pace this 429 met, before its own pause
        if retry_after is not None and retry_after > _ABSURD_PAUSE:
            retry_after = None  # years: a broken header, not advice (paced as without one)
        # Before this 429's pause: the bucket's drain since the previous one. Counted up to
        # the latest success's send (see _counted_until).
        drain = _Drain(
            max(0.0, self._counted_until(sent) - self._refill_from),
            self._refill_successes,
            self._refill_slowest,
            self._refill_from - self._pause_began,
        )
        if sent < self._pause_set_at and now < self._pause_until:
            self._pause_round_refused += 1  # out when the pause was set: the same round
        if retry_after is not None and retry_after > 0 and sent >= self._pause_set_at:
            paused = self._pause(now, retry_after)
            self._pause_round_refused, self._pause_round_size = 1, self._in_flight + 1
            if not self._in_episode and paused >= _LONG_PAUSE:
                # The round in flight at a long pause, formed by the 429 that set it even if
                # it is taken for a stray: in slow start the first few are (too rare among
                # the answers yet), and the episode begins at a later 429 of the same round,
                # whose successes answered meanwhile a round formed then would miss. Counted
                # from that later one, a 300/s bucket answering "Retry-After: 30" at 100 ms
                # was read at 251/s; not counted at all, it cost a pause of 30 s more.
                self._round = self._paused_round(now, sent)
        if not self._in_episode and self._refusal_is_stray(now, sent, paused, in_flight):
            if 0.0 < paused < _LONG_PAUSE:
                self._try_a_cap(now, in_flight)
            return  # retried, its pause honoured, but nothing learned of a limit
        if not self._in_episode and self._ignore_the_pace(now, paused):
            return  # strays after all: searched up from the pace they were first met at
        if self._slow_start:
            self._end_slow_start(now)  # a limit met: from here the pace and window learn it
            self._ended_slow_start = True
        cycle = None
        above_cycle = False
        drained = None
        fitted = None
        changed = False  # the limit changed during the drain (see _fit_drain)
        if not self._in_episode and sent >= self._last_cut_at:
            drained = self._drain_floor(drain)
            fitted, changed = self._fit_drain(drain)
            cycle = self._cycle_estimate(sent)
            if cycle is None and self._fell_in_a_drain(pace, drain):
                # A limit that fell far, with a small burst: the run resumed from a pause
                # at a pace under the known limit and the bucket refused it within a few
                # round trips. Counted from fewer successes, the cycle cuts as CUBIC does
                # (0.7 of the pace). Not counted at all, the cut was blind, and the pause
                # made what the cycle accepted a floor of a few a second: a bucket of
                # 100/s with a burst of 10, replaced by one of 50/s with a burst of 5 at
                # 20 ms answering in seconds, was searched up from 5/s, and its halved
                # phase ran at 0.76 of it in its second half on three seeds of ten.
                cycle = self._cycle_estimate(sent, _FELL_CYCLE_SAMPLES)
            above_cycle = self._refused_above_the_cycle(in_flight)
            self._begin_episode(now, sent, pace, cycle)
            # A pause still running is this episode's too: one set a moment ago by a 429 of
            # the same round that was taken for a stray (or by this one, added below).
            self._episode_paused = max(0.0, self._pause_until - now - paused)
            if self._pause_until > now:
                self._episode_longest_pause = self._refill_from - self._pause_began
            if self._round is not None and self._round.at >= self._pause_began:
                self._round.episode = now  # formed by this pause's first 429 (above)
            elif paused > self._measure_span():
                # The requests sent since the refused one, still out: the round it measures
                # (a pause this long refills a bucket: the short estimate measures nothing).
                self._round = self._paused_round(now, sent, episode=now)
        self._episode_paused += paused
        if paused:
            self._episode_longest_pause = max(
                self._episode_longest_pause, self._refill_from - self._pause_began
            )
        self._episode_last_refused_sent = max(self._episode_last_refused_sent, sent)
        if sent >= self._episode_first_refused_sent:
            self._episode_refused_after += 1
        if self._cycle_start is None or sent > self._cycle_start:
            self._cycle_start_at = now
            # A new cycle starts at the latest refused send: what succeeds after it was
            # accepted by a server that had just been at its limit.
            self._cycle_start = sent
            self._cycle_successes = 0
            self._cycle_start_succeeded = self.succeeded
        if sent < self._last_cut_at:
            return  # the round already cut for: the same overload, seen again
        self._episode_refused_in_flight += in_flight
        self._episode_refused += 1
        if fitted is not None and not self._counted:
            # Two drains of a full bucket, of different lengths: its rate, measured. A bucket
            # refuses whatever is in flight, so a window taken for a cap goes (a bucket met
            # while the pace climbed came with a little more in flight than the successes
            # before it, and its window then lost one place a 429, each a pause). Not for a
            # quota counted over whole windows: a probe runs one out, the second's pause
            # its 429 names eats into the next, and the successes between such pauses vary
            # in length as drains do. Fitted so, 500 per 5 s answering in whole seconds was
            # taken for a bucket of 94/s and held there for minutes (0.94 of it; 0.96 so).
            self._set_window(None, now)
            self._learn(fitted, None)
            self._cut_done(now)
            return
        if self._window is not None and self._refused_at_window_edge(now, in_flight, edge_held):
            return
        current = self._offered_rate(now, sent)
        short = self._short_estimate(now)
        first = self._episode_refused == 1
        probed_before = self._probe_refused
        probing = first and self._probing_above(now)
        if first:
            self._episode_above_limit = self._limit is not None and current > self._limit
        if probing:
            self._probe_refused = current
        long_pause = paused >= _LONG_PAUSE
        tail = 0.0
        if first:
            if not above_cycle:
                # Refused with more in flight than the successes had (a cap's, or a clump a
                # stalled server let in at once, its first 429 not late enough to tell): no
                # sign that the bucket began the run drained.
                self._check_tail_limit(sent, current)
            # Where this 429 pauses the run long, the tail floor is the estimate (see the
            # cycle branch): counted closer to the rate (see _tail_floor).
            counted = self._counted_until(sent)
            tail = self._tail_floor(counted, refill=long_pause)
            if paused and not long_pause:
                # A short pause too, a little under (see "the tail floor" above).
                tail = max(tail, _REFILL_SHADE * self._tail_floor(counted, refill=True))
            tail = min(tail, current)
        floors = max(tail, drained or 0.0)  # measured under the rate (0: nothing measured)
        if first and self._round is not None:
            self._round.floors = floors
        if (
            first
            and (not self._episode_blind or self._curve is not None)
            and above_cycle
            and not self._counted
        ):
            # A lone 429 with more in flight than the successes before it had: maybe a cap
            # on concurrent requests. Hold the window there (a second 429 at its edge
            # lowers it) and leave the rate alone; just under it if this 429 cost a pause.
            # Not once a quota is counted over whole windows: a window it runs out, round
            # trips varying by 90%, often comes with more in flight than the rest too. Held
            # to that window, 500 per 5 s at 50 ms (about 5 in flight) let 87/s through.
            self._hold_window(max(1, in_flight - 1) if paused else in_flight, now, drain)
            self._episode_estimated = self._episode_by_window = True
            if long_pause and floors:
                # Where it pauses the run long, the pace is held to the floors too: a bucket
                # met while the pace climbed comes with more in flight as well, and each
                # place its window then lost cost another such pause (a 300/s bucket at
                # 100 ms answering "Retry-After: 30": four, 48 to 44). Its window, what its
                # pace had in flight, does not bind; a cap's keeps the pace's spikes under
                # it (held to the floors alone, a cap of 8 at 50 ms answering 30 s over
                # real sockets paused six times).
                self._learn(floors, None)
        elif short is not None:
            if not self._episode_blind and self._refused_above_the_rest(in_flight):
                # Refused with clearly more in flight than the successes had: a cap on
                # concurrent requests. Hold the window under it and leave the rate alone.
                self._hold_window(max(1, self._episode_refused_min_in_flight - 1), now, drain)
                self._episode_estimated = self._episode_by_window = True
            else:
                # Measured at the limit itself. After a blind cut it may raise the pace back;
                # otherwise refusals at this pace mean it must come down at least a little.
                self._learn(short, None if self._episode_blind else self.margin * current)
        elif (
            self._measured
            and not self._counted
            and not paused
            and self._limit is not None
            and current > _HOLD_ABOVE * self._limit
            and self._measured_accepted_rate(now) > _FAR_ACCEPTED * self._limit
            and (first or now - self._episode_started < 2 * self._measure_span())
        ):
            # Refused far above a measured limit, which the server was accepting well over:
            # the limit rose, or was measured low (at a pace already cut under it). Hold the
            # pace and measure it again; a bucket with a small burst refuses a pace a little
            # over its rate only now and then, and an episode ends before a short estimate
            # can count, so the successes since this 429 measure it when it ends. Cut here,
            # a 1,000/s bucket with a burst of 5 measured at 767/s climbed back 2% a probe
            # and settled at 0.84 of its rate.
            self._episode_far = True
            return
        elif first and cycle is not None and self.margin * cycle < current and not self._counted:
            # Counts between episodes are coarse (a quota's windows fall anywhere in the
            # cycle): move half way from what was known, a drop goes on at the next one.
            # A cycle spent partly under the limit undercounts it; the pace that was just
            # refused bounds it from above (CUBIC's cut, 0.7 of it, from below).
            known = self._limit
            # Refused under a limit measured: it fell (or was measured high).
            fell = known is not None and self._measured and current <= known
            searched = False  # this 429 ends a search from a pace accepted: the tail floor
            bounded = False  # a bucket with a burst of one refused this pace: it bounds it
            if changed:
                # The limit changed while the bucket drained: what the cycle, the drain and
                # the tail counted was partly the old limit's. Cut as CUBIC does; the next
                # drains measure the new one. Taken from them, a 300/s bucket halved in
                # place was held at 267/s, then at 0.7 of that (182/s), and met the 429
                # that measured it five seconds into the halved phase.
                estimate, tail = _REFUSED_SHARE * current, 0.0
                if self._limit_guessed and drained:
                    # But a known limit that was only a guess (CUBIC's share of a search's
                    # pace) counted nothing of the old bucket, and this drain, since the
                    # pause, is of the new one: its floor stands, under the pace refused.
                    # Cut from a guess of 344/s, a 300/s bucket restored from 150/s and
                    # refused at 337/s (its drain counted 300/s) was held at 236/s for a
                    # unit of ten pauses: 0.78 of it in the restored phase's second half
                    # on two seeds of six, 0.99 so.
                    estimate = max(estimate, min(drained, self.margin * current))
            else:
                estimate = max(cycle if known is None else (known + cycle) / 2, drained or 0.0)
                refilled = False  # the drain began with the bucket full: it counted the rate
                if self._limit_guessed and drained and drained > cycle:
                    # The known limit is only CUBIC's share of a pace refused, no count: a
                    # bucket's drain since the pause measured its rate where the cycle, the
                    # pause in it, counted under it. Half way to the guess instead, a bucket
                    # of 300/s with a burst of 150 answering in seconds, its search refused
                    # at 630/s, resumed at 335/s, drained its burst for 6 s and paused the
                    # run a fourth time, in its second half (0.91 of it; 1.00 so).
                    estimate = drained
                    # And where the pause was long enough to refill the burst at that rate,
                    # the drain is no floor but the rate: CUBIC's share of the pace refused
                    # does not overrule it. Overruled, a 300/s bucket with a burst of 300
                    # was held at 386/s (0.7 of 552/s), over its rate, for 5 s until a 429
                    # was taken for a cap's (0.92 of it in the second half; 1.00 so).
                    # (Give or take the one request by which a count's bounds round.)
                    burst = self._burst_of(drained)
                    refilled = burst is not None and drain.pause * drained >= burst - 1
                searched = bool(tail) and self._searching_up()
                if searched:
                    # A search from a pace the server accepted (a limit that rose) doubles
                    # each second, and goes on past the rate while the bucket's burst takes
                    # the excess: 0.7 of the pace refused is over the rate. The bucket was
                    # full where the pace crossed its rate, so the tail floor (the first
                    # count's refill counted, see _tail_floor) is close to it: that alone.
                    # A 300/s bucket with a burst of 60 restored from 150/s, answering
                    # "Retry-After: 1", was searched up to 491/s, resumed at 0.7 of that
                    # and paused once more 2.7 s later: 0.75 of it over the 5 s after the
                    # search (0.66 over real sockets), 0.87 so (0.79).
                    refill_tail = self._tail_floor(self._counted_until(sent), refill=True)
                    tail = max(tail, min(refill_tail, current))
                    estimate = max(estimate, tail)
                elif not (long_pause and floors) and not refilled:
                    # Where this 429 pauses the run long, a guess over the rate costs
                    # another such pause, and the floors over a search's drain from a full
                    # bucket are close to it: they alone. A 300/s bucket answering
                    # "Retry-After: 30" was searched up to 490/s, resumed at 0.7 of that,
                    # and paused 30 s twice more to come down to its rate.
                    estimate = max(estimate, _REFUSED_SHARE * current)
                found = self._found_again(probing, paused, current, probed_before)
                if found is not None:
                    # A probe met the limit where the previous probe did: that is where it
                    # is. The cycle count is no estimate of it here: it counted the pause,
                    # and the plateau the curve held under a limit set low. A quota of 300
                    # a second answering "Retry-After: 1" was refused at 308/s, then at
                    # 309/s, and so on every 34 s; each time the count set 251/s (0.84).
                    estimate = max(estimate, self.margin * found)
                    self._episode_found_again = True
                elif in_flight < 2 and self._burst_of_one() and not long_pause:
                    # A bucket with a burst of one refused this request, alone in flight:
                    # its rate is the pace refused, give or take a search's step (see "the
                    # pace a burst of one refused"). The floors counted the climb to it.
                    estimate = max(estimate, self.margin * current)
                    bounded = True
            # A cycle spent partly paused counts the pause as refill: only a floor.
            self._learn(
                max(estimate, tail),
                None,
                measured=bounded or self._pause_until <= self._cycle_start_at,
            )
            if (
                not changed
                and not searched
                and not self._episode_found_again
                and max(estimate, tail) <= _REFUSED_SHARE * current
            ):
                # Only CUBIC's share of the pace refused set it: a guess that the paused
                # round may raise (see _round_answered).
                self._episode_guessed = current
                self._guess = self._limit
            if (changed or fell) and not self._measured:
                self._episode_fell_from = current  # see _end_episode
            if tail > estimate:
                self._tail_limit, self._tail_instead = tail, estimate
        elif self._limit is not None and (
            (self._measured and (current <= _HOLD_ABOVE * self._limit or self._counted))
            or (first and self._floor_refused(now, sent, current, self._limit, paused))
        ):
            if first:
                # Just over the known limit (a probe went too far): back under it at once,
                # then, if refusals go on, measure where the limit is now. Refused again
                # within a time unit of resuming at it: the known limit itself is too high
                # (a burst counted in its measurement), so it comes down by the margin.
                # A counted quota is no burst: it is at most the pace that ran it out.
                # Where the server accepted less than that a second since the previous
                # episode's first 429, that is the limit (see _between_first_refusals).
                again = now - self._ended_at < self._unit
                if (
                    not again
                    or self.succeeded - self._previous_succeeded > _BACK_TO_BACK
                    or self._again_latest != self._previous_started
                ):
                    # A run of episodes refused back to back begins here: each a few
                    # successes after the one before, each met here (see
                    # _between_first_refusals). Otherwise the run counted from an older
                    # one, or from none: 0/s since the run began, a cut to 0.7 over real
                    # sockets (a 10/s bucket settled at 7/s).
                    self._again_started, self._again_succeeded = now, self.succeeded
                self._again_latest = now
                if self._counted:
                    limit = min(self._limit, current)
                else:
                    limit = self.margin * self._limit if again else self._limit
                    between = self._between_first_refusals(now)
                    if again and between is not None and between < limit:
                        limit = max(between, _REFUSED_SHARE * self._limit)
                self._learn(limit, self.margin * current)
            elif not self._counted and (
                paused > 0
                or (
                    self._refused_in_a_row < _FLOOD
                    and (
                        self._episode_successes >= _SHORT_SAMPLES
                        or now - self._episode_started < 2 * self._measure_span()
                    )
                )
            ):
                # Still measuring (the server accepts some): hold this pace. Not once it
                # refuses everything: a quota run out mid-episode, after the successes
                # that began it, was held at 960/s for the 9 s to its window's end (random
                # 429s at 3% before it, 10,348 of 11,848 requests refused).
                return
            else:
                self._blind_cut(current)  # it accepts nothing: a quota ran out
        else:
            self._blind_cut(current)
        if now < self._pause_until and self._episode_blind and not self._episode_estimated:
            self._resume_at_floor(now)
        self._cut_done(now)

    def _paused_round(
        self, now: float, sent: float, episode: float = -math.inf
    ) -> _PausedRound | None:
        """The requests sent since ``sent`` (a refused one) still out, as the round paused
        at ``now`` for the episode begun at ``episode`` (none yet: ``-inf``); ``None`` when
        none is."""
        pending = sum(1 for at in self._outstanding.values() if at >= sent)
        if not pending:
            return None
        return _PausedRound(sent, now, self._offered_rate(now, sent), pending, episode=episode)

    def _round_answered(self, paused: _PausedRound, sent: float, *, refused: bool) -> None:
        """Count an answer of the round in flight at the episode's pause; once all are in,
        what the server accepted of it is the limit, where it tells one and is under the
        limit the episode's cut set or that limit is no measurement, or a floor over a limit
        the cut only guessed (see "the paused round")."""
        paused.answered(sent, refused=refused)
        if paused.pending > 0:
            return
        self._round = None
        # Each end is known to when the server met it: a one-way trip later, which varies
        # as the round trips do.
        spread = self._rtt_spread()
        rate = paused.rate(math.inf if spread is None else _ROUND_SPREADS * spread)
        if (
            not self._in_episode
            or self._episode_started != paused.episode  # another episode's, or none's
            or self._counted  # a quota's count: it accepts nothing once run out
            or self._window is not None  # a cap's window: its round tells no rate
            or self._episode_by_window
        ):
            return
        if rate is None:
            if self._episode_guessed and self._limit is not None:
                # No rate, but where the cut only guessed (0.7 of the pace refused), what
                # the server accepted of the round is a floor under its limit: a bucket
                # empty at the round's first send accepts no more than it refills. A cap
                # met at a search's pace refuses a few of the round and accepts the rest,
                # and was held at 0.7 of the pace it accepts (a cap of 20 at 100 ms
                # answering in seconds, over real sockets: 0.79-0.81 of it).
                floor = paused.floor(0.0 if spread is None else _ROUND_FLOOR_SPREAD * spread)
                if floor is not None and floor > self._limit:
                    # A floor: the limit stays as measured (or not) as the cut left it.
                    self._learn(min(floor, self._episode_guessed), None, measured=self._measured)
            return
        if self._limit is not None and rate >= self._limit:
            if not self._measured:
                # The cut set only a floor (its cycle held the pause): the round measured
                # over it, and the pace it was sent at bounds it (see "the paused round").
                self._learn(min(rate, paused.offered), None, measured=False)
            return
        self._learn(rate, None)

    def _between_first_refusals(self, now: float) -> float | None:
        """What the server accepted a second between the previous episode's first 429 and
        this one's (their arrivals), or since the first of a run of episodes refused back to
        back; ``None`` with fewer than 10 successes or a pause between.

        A token bucket is empty at both, so this is its rate (less what overflowed while
        the run went under it); a quota per window met at the same point of two windows
        accepts its count between them. Taken only where a known limit is refused again
        soon after the run resumed at it: there it was too high, and came down 3% an
        episode. A quota of 100 a second answering no ``Retry-After``, its limit taken at
        147/s from a search, came down so over 13 windows with 40 429s each (19% of the
        requests refused; 11% now).
        """
        since, count = self._previous_started, self.succeeded - self._previous_succeeded
        if count < _CYCLE_SAMPLES:
            # Or since the first of the episodes refused back to back (each soon after
            # resuming, at most _BACK_TO_BACK successes after the one before): a slow
            # bucket with a burst of one, halved, refuses every other request at the limit
            # known. Each such episode took the limit down 3%, and before it reached the
            # 5/s a 10/s bucket was halved to, the creep or the stints took the 429s for
            # strays and searched up into it again (5-21% of a 90-second simulated run's
            # requests refused, 3.1% so). Episodes up to one fewer successes apart than the
            # previous one alone needs (_BACK_TO_BACK): counted only two apart, the chain
            # began again at each of a bucket of 100/s with a burst of 10, halved and
            # answering no Retry-After, whose episodes came 4-7 successes apart. Each took
            # the limit down 3% until the creep took them for strays: 11-13% of the run's
            # requests refused on three seeds of ten, 1.8-2.1% so.
            since, count = self._again_started, self.succeeded - self._again_succeeded
        span = now - since
        if not 0 < span < math.inf or count < _CYCLE_SAMPLES or self._paused_between(since, now):
            return None  # (no run begun: nothing to count since)
        return count / span

    def _counted_until(self, sent: float) -> float:
        """Where counts of successes by send time end for a 429 sent at ``sent``.

        Where the server answers 429s in clearly less than a round trip (it refuses at once,
        before the API: a gateway), at the latest success's send if that is earlier, within
        a round trip: the 429 comes back before the successes sent just ahead of it, still in
        flight, and counted up to the 429's send the floors missed them (a 300/s bucket
        answering ``Retry-After: 1`` was floored at 280/s). Not where 429s take as long as
        successes: the counts are complete, and a floor made tighter overshot a rate whose
        burst the first count bounds a little low (201/s against 200/s with a burst of 5).
        """
        if (
            self._srtt is None
            or self._refused_rtt is None
            or self._refused_rtt > _REFUSED_AT_ONCE * self._srtt
        ):
            return sent  # refused as late as accepted: what was sent before is answered
        if self._last_ok_sent < sent - self._srtt:
            return sent  # nothing accepted of late (a pause, refusals): nothing in flight
        return min(sent, self._last_ok_sent)

    def _probing_above(self, now: float) -> bool:
        """Whether the pace is a probe above a known limit: past the curve's plateau."""
        curve = self._curve
        return (
            curve is not None
            and not curve.doubling
            and self._limit is not None
            and (now - curve.epoch) / curve.unit >= curve.k
        )

    def _searching_up(self) -> bool:
        """Whether the pace is a search's up from a pace the server accepted.

        Such a search (see _search_up) follows a limit that rose (_check_rose), or 429s
        found to be strays (_ignore_the_pace).
        """
        curve = self._curve
        return curve is not None and curve.doubling and curve is self._search_from_pace

    def _found_again(
        self, probing: bool, paused: float, current: float, probed_before: float | None
    ) -> float | None:
        """The pace this 429, a probe's, met the limit at, if the previous probe's 429 met it
        there too (the lower of the two paces); ``None`` if not.

        Only a probe counts, the pace climbing slowly past the plateau: a search climbs
        fast and overshoots a bucket by what its burst absorbs, and its 429s came at the
        same pace, 20% over a 200/s bucket with a burst of 5, three times running. And only
        a 429 that paused the run (longer than a short estimate takes, shorter than a long
        pause): without a pause the short estimate measures the limit; after a long one
        the floors alone set it.
        """
        if (
            not probing
            or not self._measure_span() < paused < _LONG_PAUSE
            or probed_before is None
            or max(current, probed_before) > _FOUND_AGAIN * min(current, probed_before)
        ):
            return None
        return min(current, probed_before)

    def _floor_refused(
        self, now: float, sent: float, current: float, floor: float, paused: float
    ) -> bool:
        """Whether an episode's first 429 refused a floor at or under itself, just after resuming.

        Then it is no floor but a limit a little too high, as a measured one refused again:
        the cycle count that set it took 0.7 of a search's pace, and a search overshoots a
        bucket by what its burst absorbs (80/s against 50/s with a burst of 10). Halved
        blind instead, the run searched up to the same overshoot and learned the same floor,
        two 429s every 1.7 s (4% of requests), for good. Only a request sent at that pace
        tells: one sent before the run resumed is the last episode's (against a cap of 4,
        one such 429 learned a limit of 11/s, a seventh of the cap's rate, to be probed
        over 10 s units). And only when the 429 costs no more than the round trips a short
        estimate takes: with a pause each time (an HTTP date's), a known limit refused again
        comes down by the margin a pause, while halving finds it (a floor of 198/s against
        100/s took 16 s of pauses to come down).
        """
        return (
            not self._measured
            and not self._counted
            and current <= floor
            and sent >= self._ended_at
            and now - self._ended_at < self._unit
            and paused <= self._measure_span()
        )

    def _resume_at_floor(self, now: float) -> None:
        """A pause in an episode with nothing measured: resume at what was accepted so far.

        The pace held through the episode was offered, not accepted: resumed at it, the run
        meets the limit again in its first round after the pause (and pauses again).

        Too few successes to count a floor over the pause, and a long pause (another costs
        as much): at most the pace they came at while the run was sending. Resumed at the
        blind cut's pace instead, a cap of 4 at 50 ms answering "Retry-After: 30" (80/s),
        met in slow start's second round after seven successes, was sent 110/s after the
        pause: refused again, 30 s more. Not after a short pause: a bucket with a burst of
        one answering "Retry-After: 1", resumed so, climbed longer than a second pause
        costs (0.64 of its rate over the whole run, from 0.76).
        """
        accepted = self._accepted_since_origin(self._pause_until, 0.0)
        if accepted is None and _is_long_pause(self._pause_until - now):
            accepted = self._accepted_while_sending(now)
        if accepted is not None and self._rate is not None:
            self._rate = max(_MIN_RATE, min(self._rate, self.margin * accepted))

    def _accepted_while_sending(self, now: float) -> float | None:
        """What the server accepted per second since the cycle began, its pauses left out.

        ``None`` before any success, or with no time unpaused.
        """
        accepted = self.succeeded - self._episode_origin_succeeded
        span = now - self._episode_origin - self._paused_between(self._episode_origin, now)
        if accepted <= 0 or span <= 0:
            return None
        return accepted / span

    def _accepted_since_origin(
        self, until: float, min_span: float, samples: int = _CYCLE_SAMPLES
    ) -> float | None:
        """What the server accepted per second from the cycle's start until ``until``.

        ``None`` with fewer than ``samples`` successes, or over no more than ``min_span``.
        """
        accepted = self.succeeded - self._episode_origin_succeeded
        span = until - self._episode_origin
        if accepted < samples or span <= 0 or span < min_span:
            return None
        return accepted / span

    def _cut_done(self, now: float) -> None:
        """The rest of this round's 429s are the same overload."""
        self._last_cut_at = now

    def _blind_cut(self, current: float) -> None:
        dead = self.succeeded == self._episode_first_succeeded or (
            # Successes may still come back, sent before the first refused send: a round's
            # worth of 429s and nothing accepted sent since that one is a round refused too.
            not self._episode_accepted_after and self._episode_refused_after >= _DEAD_ROUND
        )
        if self._episode_refused > 1 and dead:
            # A round refused whole since the first 429, nothing accepted (a quota ran out):
            # poll once a round trip at most, then ever more gently. Halving from a flood,
            # each round sent dozens more 429s.
            current = min(current, 1.0 / self._srtt if self._srtt else current)
        self._rate = max(_MIN_RATE, current * _BLIND_CUT)
        peak = self._stints.peak
        if peak is not None and (not dead or self._refused_in_a_row < _FLOOD):
            # Far under a pace the server took with a stray's share of 429s, a limit
            # refuses nothing: 429s there are strays, or a limit that fell far, and the
            # stints tell which (see _Stints) within a few answers at this pace, not at
            # half a request a second. Cut on down to that, 35% of the answers refused at
            # random held a run at 0.5/s for 50 s before they could (2,000 items in 59 s):
            # four of them in a row, nothing accepted meanwhile, halved it four times. A
            # quota run out refuses a flood in a row, and is polled ever more gently.
            # (A stop, never a rise: a pace already under it stays.)
            self._rate = max(self._rate, min(current, _STINT_FAR * peak.accepted))
        self._episode_blind = True
        self._episode_cut = True

    def _learn(self, limit: float, at_most: float | None, *, measured: bool = True) -> None:
        """Take ``limit`` as the limit and pace just under it (at most ``at_most``);
        ``measured=False`` where it is only a floor or a guess."""
        self._tail_limit = None
        self._episode_guessed = 0.0
        self._limit = limit
        self._measured = measured
        self._episode_by_window = False
        rate = self.margin * limit
        self._rate = max(_MIN_RATE, rate if at_most is None else min(rate, at_most))
        self._episode_estimated = True
        self._episode_cut = True

    def _begin_episode(
        self, now: float, sent: float, pace: float | None, cycle: float | None
    ) -> None:
        # What to go back to if the episode proves to be one stray 429 (_end_episode).
        self._before_episode = (self._rate, self._curve, self._ended_slow_start)
        if self._trial is not None:
            # 429s a limit's after all: what it is, and any window, is measured from here.
            self._trial = None
            self._wake_one()
        self._rate_limited_before = self.rate_limited - 1  # this 429 is the episode's first
        self._ended_slow_start = False
        previous_succeeded = self._episode_first_succeeded
        self._episode_first_succeeded = self.succeeded
        if self._first_burst is None:  # what emptied the full bucket the run began with
            self._first_burst = self.succeeded
            self._first_refused_sent = sent
            self._first_seconds = sent - self._start
        # Freeze the pace where the curve had it: it is held (or cut) until the episode ends.
        # (Taken before the 429's own pause is set: that pause is no part of what the run
        # was sending at.)
        self._rate = pace
        self._in_episode = True
        self._previous_started = self._episode_started
        self._previous_succeeded = previous_succeeded
        self._episode_started = now
        # Where the cycle that this episode ends began, and what it accepted.
        self._episode_origin = self._start if self._cycle_start is None else self._cycle_start
        self._episode_origin_succeeded = self._cycle_start_succeeded
        self._episode_successes = 0
        self._episode_ok_in_flight = 0
        self._episode_refused = 0
        self._episode_refused_in_flight = 0
        self._episode_refused_min_in_flight = 1 << 30
        self._episode_estimated = False
        self._episode_by_window = False  # estimated only by a window held for a cap
        self._episode_window_void = False  # ... and that window was dropped since
        self._episode_cut = False
        self._episode_paused = 0.0  # seconds everyone waited for its Retry-After pauses
        self._episode_longest_pause = 0.0  # ... and the longest of them, end to end
        self._episode_far = False  # held far above a measured limit to measure it again
        self._episode_cycle = cycle  # what the cycle it ends accepted a second, if counted
        self._episode_found_again = False
        self._episode_above_limit = False
        self._episode_guessed = 0.0
        self._episode_fell_from = 0.0
        self._episode_first_ok_sent = math.inf
        self._episode_last_refused_sent = sent
        self._episode_first_refused_sent = sent
        self._episode_refused_after = 0
        self._episode_accepted_after = 0
        self._episode_measure_from = now  # the short estimate counts sends from here
        self._episode_measured_sent = now  # ... up to the latest of their successes' sends
        self._episode_measured_sends = []  # ... each success's send
        # Comparing in flight tells a concurrency cap only at a steady pace under a known
        # limit: while a flood is cut down, everything in flight shrinks together.
        self._episode_blind = not self._measured

    def _refused_at_window_edge(self, now: float, in_flight: int, edge_held: bool) -> bool:
        """A refusal with a window set: shrink it if refused at its edge, else drop it.

        Dropped too when shrinking would take it under what the run got through when it was
        set (``_hold_window``), or from two or more to one where the run had a request or
        more in flight on average: no cap is that low, the 429 is a rate's. One whose request
        was alone in flight is a rate's too, and leaves it as is.
        Dropped as well when ``edge_held`` (see _edge_held, taken before this 429's pause).
        """
        assert self._window is not None
        lower = max(1, in_flight - 1)
        # Nor to one from more: a bucket with a burst of one refuses the second of two
        # requests that arrive close together, and two in flight often do. Against 100/s at
        # 20 ms, counted at 65/s early on (a floor of one), the window went from three to
        # one at its edge: 50 requests a second. But where the run had less than one in
        # flight on average, a window of one costs it little of what it got through, and a
        # cap of one fits best. Against one at a time 50 ms away, whose 429s each came with
        # two in flight, the window was dropped at every second one and the run searched
        # for a rate each second (10% of requests refused, 0.7 of what one at a time gets).
        least = (
            self._window_floor
            if self._window == 1 or self._window_load < _ONE_IN_FLIGHT
            else max(2, self._window_floor)
        )
        if in_flight < 2:
            # Alone in flight: a cap accepts that one. A bucket with a burst of one refuses
            # it when it arrives close behind the one before, and at a window of one that is
            # the next request sent: the 429 is a rate's (taken for the window's edge, it
            # taught nothing, and 200/s with a burst of one at 5 ms answering "Retry-After:
            # 1" paused every 2 s at a window of one for good: 0.26 of it).
            return False
        if in_flight >= self._window and lower >= least and not edge_held:
            # Refused at the window's edge (its probe, or the server counts a little more).
            self._set_window(lower, now)
            self._episode_estimated = self._episode_by_window = True
            self._last_cut_at = now
            return True
        held = self._window / self._srtt if self._srtt else None
        # Refused well within the window, or at its edge after it held a while: it is not
        # the limit.
        self._set_window(None, now)
        if held is not None:
            self._search_from(held, now)
            if edge_held and self._rate is not None:
                # The window, not the pace far above it, set what was sent: the refusal
                # met that, and a cut from the pace (0.7 of 240/s for a window of 150/s)
                # would resume a 100/s bucket far over it.
                self._rate = min(self._rate, held)
        if self._episode_by_window:
            # What the window stood for in this episode was no cap's: the episode has not
            # measured the limit (see _end_episode).
            self._episode_window_void = True
        return False

    def _edge_held(self) -> bool:
        """Whether the window was full for several round trips of successes before a 429.

        A cap on concurrent requests refuses one request over it at once, the first time
        that many are in flight; a token bucket refuses a full window only once its burst
        is spent, after round trips of successes at that window. A window taken for a cap
        that was a bucket's (with 5-7 in flight a 429 over the successes' average is
        common) lost a place at each such 429, a pause each, and held the run under the
        bucket's rate for good: 100/s at 50 ms settled at 5 in flight, 0.93 of it, and
        500/s at 10 ms at 6, 0.81. Only for windows of up to 16: a place of more costs
        little. Up to 8 alone, a search's 429 against a 300/s bucket at 20 ms (latency
        varying by 90%) came with 12 in flight against the successes' 10, and the window
        of 11 it set lost a place a pause, three pauses, before two drains fitted the
        rate: under 0.95 of it in the run's second half on 7 seeds of 20, 3 so (answering
        "Retry-After" in seconds; 6,000 items, simulated). A window of 11-12 dropped so
        (a 300/s bucket halved to 150/s) once cut from a pace of 550/s, still far over
        either; since _search_from takes a search back to what the window let through,
        that halved phase held 0.94-0.99 over real sockets in four runs.
        """
        window = self._window
        return (
            window is not None and window <= _EDGE_MOST and self._at_edge >= _EDGE_ROUNDS * window
        )

    def _search_from(self, rate: float, now: float) -> None:
        """Take a search far above ``rate``, what a window just dropped let through, back to it.

        The window held the run there, however far the search's curve had climbed
        meanwhile: resumed at the curve, the run doubled what it sent each round trip
        (the curve's growth is held only to twice what is sent) and flooded the limit. A
        bucket of 50/s at 100 ms, taken for a cap of 5 for 12 s, met its window's drop
        with 64 requests in flight (26% of the run's requests refused).
        """

        def lower(curve: _Curve | None) -> _Curve | None:
            if curve is None or not curve.doubling or curve.rate(now) <= _GROWTH_CAP * rate:
                return curve  # within what the run may grow to in a round trip anyway
            return _Curve.exponential(now, rate, curve.unit)

        self._curve = lower(self._curve)
        if self._rate is not None and self._rate > _GROWTH_CAP * rate and self._curve is not None:
            self._rate = rate
        before_rate, before_curve, slow_start = self._before_episode
        self._before_episode = (before_rate, lower(before_curve), slow_start)

    def _refused_above_the_cycle(self, in_flight: int) -> bool:
        """Whether a 429 came with clearly more in flight than the recent successes had.

        In a search, than they had grown to since: the pace doubles each unit and what is in
        flight with it, while the successes' average is of sends a round trip and a window
        of answers ago. With many in flight that growth is several places (with few, less
        than one: a cap met in a search is still told at once), and every 429 of a search
        looked like a cap's: a bucket with a burst of 200 at 100 ms, 28 in flight, was
        searched from the same floor every second (7% of requests refused).
        """
        if self._cycle_successes < _CYCLE_SAMPLES or self._ok_in_flight is None:
            return False
        expected = self._ok_in_flight
        curve = self._curve
        if curve is not None and curve is self._search_from_pace:
            # A search from a pace the server accepted, no window set (see _search_up): its
            # 429 is the rate it searches for, whatever came in flight with it (the pace
            # climbs, and a latency that varies spreads what is in flight). Taken for a
            # cap's, the search doubled on through the pause under a window that lost a
            # place each 429, and the run ended at a floor of 9-11/s: a 200/s bucket with a
            # burst of 4 at 50 ms (latency varying by half) held 0.69 of its rate in its
            # second half, 0.86 so.
            return False
        if (
            curve is not None
            and curve.doubling
            and self._srtt
            and expected >= _SEARCH_LAG_IN_FLIGHT
        ):
            lag = self._srtt + 1 / (_OK_IN_FLIGHT_ALPHA * max(self._accepted_rate, 1.0))
            expected *= 2 ** (lag / curve.unit)
        return in_flight >= expected + _CONCURRENCY_GAP

    def _refused_above_the_rest(self, in_flight: int) -> bool:
        """Whether refusals come with clearly more in flight than the successes around them.

        A token bucket refuses whatever the number in flight; a cap on concurrent requests
        refuses only above it, while the successes around spread below it.
        """
        self._episode_refused_min_in_flight = min(self._episode_refused_min_in_flight, in_flight)
        if not self._episode_successes or not self._episode_refused:
            return False
        succeeded = self._episode_ok_in_flight / self._episode_successes
        refused = self._episode_refused_in_flight / self._episode_refused
        return refused >= succeeded + _CONCURRENCY_GAP

    def _offered_rate(self, now: float, sent: float) -> float:
        rate = self._current_rate(now)
        if rate is not None:
            return rate
        # Unpaced: what was being offered, by Little's law (in flight over round trip).
        rtt = self._srtt if self._srtt else max(now - sent, 1e-3)
        return max(self._in_flight + 1, 1) / rtt

    def _measure_span(self) -> float:
        """How long the short estimate needs: a few round trips."""
        return _SHORT_ROUND_TRIPS * (self._srtt if self._srtt is not None else 0.0)

    def _short_estimate(self, now: float) -> float | None:
        """What the server accepted per second since it started refusing, if enough is known.

        Requests sent after the first 429 came back found the server at its limit, so the
        rate at which they succeed is the limit itself (a token bucket's rate, not burst).
        In a blind episode they count from the first success of a request sent since the
        first refused one: until then the episode held the run to one request in flight.
        """
        if self._episode_longest_pause > self._measure_span():
            # The run paused for the server's Retry-After: a bucket refilled meanwhile, and
            # what succeeded after the pause is its burst as much as its rate. One pause
            # that long, not many short ones adding up to it: a bucket refills only its
            # rate during each, and the successes still count its rate. Added up, the
            # waits of a few milliseconds a bucket answering "exact" named (one token
            # each) outgrew the span within a second of an episode, and nothing measured
            # it again: a bucket halved to 50/s with a burst of 5 was held at 92/s for
            # the 10 s of the halved phase, 42% of the answers refused (13% of the run's
            # requests; 1.4% so).
            return None
        return self._measured_rate(now)

    def _measured_rate(self, now: float) -> float | None:
        """The successes sent since the episode's measuring began, per second of their
        sends; ``None`` until at least 8 of them count, sent over at least two round trips.

        Counted only up to a send whose answers are all in: the latest success's and the
        oldest request still in flight, whichever is earlier. Up to the 429's send, the count
        missed the successes a server answering 429s at once had not answered yet (a 200/s
        bucket answering 429s in half the round trip was measured at 150/s); up to the latest
        success's, it missed those sent before it that were slower to come back (a 250/s
        bucket at 200 ms, round trips varying by up to 90%, was measured at 158/s and held
        there for the rest of the run). A request out for several round trips is a
        straggler, not waited for.
        """
        until = self._episode_measured_sent
        stragglers = now - _STRAGGLER_ROUND_TRIPS * (self._srtt or 0.0)
        for sent in self._outstanding.values():  # in the order they were sent
            if sent >= stragglers:
                until = min(until, sent)
                break
        span = until - self._episode_measure_from
        if span < self._measure_span():
            return None
        count = sum(1 for sent in self._episode_measured_sends if sent <= until)
        return count / span if count >= _SHORT_SAMPLES and span > 0 else None

    def _drain_floor(self, drain: _Drain) -> float | None:
        """A floor under a token bucket's rate from its drain since the latest pause.

        A bucket is full after a pause and empty at the first 429 after it: what it accepted
        in between is its burst plus its rate times the time (less what overflowed while
        the pace was under the rate). The run's first ``N0`` successes, in ``t0`` seconds,
        emptied the full bucket too: ``N0`` is its burst plus its rate over ``t0``, less
        what overflowed while slow start offered less than the rate (its first two round
        trips or so). So ``(accepted - N0) / (seconds - (t0 - 2 rtt))`` is at most the
        rate, and close to it after a long drain: what a cycle counted over the pause (a
        refill the burst capped) misses.
        """
        if self._first_burst is None:  # this 429 begins the run's first episode
            return None
        span = drain.span
        if drain.pause <= 0 or span < max(_CYCLE_SECONDS, self._measure_span()):
            return None  # no pause yet (the start is the first count's), or too short
        # The first count holds the rate too, from when its sends began to drain the bucket
        # (see _first_refill): that much of it was refill, not burst, and the same rate
        # refills this drain.
        more = max(0.0, drain.accepted - self._first_burst - self._first_late)
        return self._refill_fixed_point(lambda refilled: more / max(span - refilled, span / 2))

    def _first_refill(self, rate: float) -> float:
        """How long a bucket of ``rate`` refilled while the run's first count emptied it.

        A full bucket overflows while it is sent less than its rate, so its refill counts
        only from the first round trip whose sends reached the rate (slow start's first round
        trips may not) to the run's first refused send. 0 when unknown.
        """
        return self._first_reached(rate)[1]

    def _first_reached(self, rate: float) -> tuple[int, float]:
        """How many of the run's first sends went before a round trip of them reached
        ``rate``, and the seconds from there to its first refused send; ``(0, 0.0)`` when
        unknown (no round trip known, no 429 yet, or the sends not all kept) or never."""
        srtt, end, sends = self._srtt, self._first_refused_sent, self._first_sends
        if not srtt or end == math.inf or len(sends) >= _FIRST_SENDS:
            return 0, 0.0
        need = rate * srtt
        later = 0
        for i, at in enumerate(sends):
            if at >= end:
                break
            while later < len(sends) and sends[later] < min(at + srtt, end):
                later += 1
            if later - i >= need:
                return i, end - at
        return 0, 0.0

    def _refill_fixed_point(self, floor: Callable[[float], float]) -> float:
        """The rate a floor gives when its first count's refill is counted at that rate.

        ``floor(refilled)`` is a floor under the rate with ``refilled`` seconds of the first
        count taken as refill. The more seconds, the higher the floor, and the higher the
        rate, the later the first count's sends reached it (_first_refill): the floor at
        the rate where the two meet is still a floor (at the true rate it is at most that
        rate, and it falls as the rate it is counted at rises). Halved to it.
        """
        low, high = floor(0.0), floor(self._first_refill(0.0))
        for _ in range(20):
            if high - low <= 0.001 * high:
                break
            middle = (low + high) / 2
            if floor(self._first_refill(middle)) >= middle:
                low = middle
            else:
                high = middle
        return low

    def _tail_floor(self, sent: float, *, refill: bool = False) -> float:
        """A floor under the rate from the successes sent just before a 429's send (see "the
        tail floor"); 0 when it tells nothing.

        The burst is bounded by what emptied the bucket the run began with: the successes
        answered before the run's first 429, or if none were, those sent with its first
        refused send (a burst of one: one of the first requests accepted, the others
        refused and answered first). None at all: the bucket began empty, and nothing
        bounds what it saved since.

        With ``refill``, that count's refill (see _first_refill) and its late answers are
        counted too: a floor within 1% of a 300/s bucket's rate where the plain one is
        0.93-0.96 of it (1-2% over it at times: a 300/s bucket with a burst of 10 at 20 ms
        read 303/s). Only where it is the estimate (a long pause's, or a search's from a
        pace the server accepted), or shaded where a short pause makes a low one costly
        (``_REFILL_SHADE``): counted so for every 429, it moved the limits the cap guesses
        start from, and the figures downstream swung both ways over eight seeds.
        """
        burst = self._first_burst or self._first_late
        if not burst or not self._tail_trusted:
            return 0.0
        least = max(2 * _TAIL_SLOT, _TAIL_ROUND_TRIPS * (self._srtt or 0.0))
        if not (refill and self._first_burst):
            return self._tail.floor(sent, burst, least)
        # The first count held refill too (see _drain_floor): that much of it was no burst.
        burst += self._first_late
        return self._refill_fixed_point(
            lambda refilled: self._tail.floor(sent, burst, least, refilled)
        )

    def _check_tail_limit(self, sent: float, current: float) -> None:
        """Stop trusting the tail floor once a limit it set is refused at or under itself.

        Then the bucket did not begin the run full (a run just before drained it): the first
        burst was no bound on its burst, and the floor counted what the burst saved as rate.
        The limit goes back to what the other estimates gave, unless something else set it
        since (a quota's count).
        """
        if self._tail_limit is not None and sent >= self._ended_at and current <= self._tail_limit:
            self._tail_trusted = False
            if self._limit == self._tail_limit:
                self._limit = self._tail_instead
            self._tail_limit = None

    def _burst_of_one(self) -> bool:
        """Whether the bucket's burst is known to be one request (see _tail_floor).

        Not in a run started from a learned limit: paced from its first request, it sent
        no burst, and what got through before its first 429 bounds nothing (a rerun
        against a bucket of 50/s with a burst of 100 that the run before drained gets one
        or none through: no burst of one).
        """
        first = self._first_burst
        return (
            self._seed is None
            and first is not None
            and first + self._first_late <= 1
            and self._tail_trusted
        )

    def _fit_drain(self, drain: _Drain) -> tuple[float | None, bool]:
        """A token bucket's rate from this drain and the previous one, if they tell it, and
        whether the limit changed between them (they fit no one bucket of the run).

        Each drain that began with the bucket full (after a pause longer than it takes to
        fill) and was sent above its rate throughout accepted ``burst + rate * span``: two
        of different lengths give both. The drain is kept for the next one only if it
        qualifies (it followed a pause, lasted a few round trips, and its sends kept up with
        what the run could send, known throughout); a drain that does not breaks the chain.
        Of the chain's last few, the one this drain fits longest apart is its pair: the
        further apart their lengths, the better they tell the rate. Paired only with the
        drain just before, a window's drains that shortened a place at a time (each 0.02-0.2
        s longer than the one before) fitted a pause or two later. A drain counts from
        ``_FIT_SAMPLES`` successes over ``_FIT_ROUND_TRIPS`` round trips: a bucket of 50/s
        with a burst of 5 at 20 ms drains in 0.1-0.3 s from full (5-19 successes), and
        counted from ten over four, its drains never fitted.
        """
        chain, self._drains = self._drains, []
        if (
            self._first_burst is None
            or drain.span < _FIT_ROUND_TRIPS * self._fit_time()
            or drain.accepted < _FIT_SAMPLES
            or not drain.kept_up()
        ):
            return None, False
        self._drains = [*chain, drain][-_FIT_CHAIN:]
        apart = _FIT_GAP_ROUND_TRIPS * self._fit_time()
        fitting = [
            other
            for other in chain
            if abs(drain.span - other.span) >= apart and other.fit(drain) is not None
        ]
        previous = (
            max(fitting, key=lambda other: abs(drain.span - other.span))
            if fitting
            else (chain[-1] if chain else None)
        )
        if previous is None or abs(drain.span - previous.span) < apart:
            return None, False  # their ends are not known well enough: too close
        # Their burst is at most what emptied the bucket the run began with, if it began
        # full (see the tail floor; one that refused the run's first request bounds
        # nothing): every request sent before the first refused one, answered before its
        # 429 or after. A pair that fits only with a burst clearly over that (their ends
        # are known to _fit_time or so) lies either side of a change of limit: it fits
        # a rate between the two, and so do the floors counted over spans that reach back
        # before the change.
        if not (self._first_burst and self._tail_trusted):
            return previous.fit(drain), False
        rate = previous.fit(drain, _FIT_BURST_OVER * (self._first_burst + self._first_late))
        return rate, rate is None and previous.fit(drain) is not None

    def _fit_time(self) -> float:
        """How well the ends of a drain are known, in seconds: a round trip at most.

        A drain runs from one send to another, and the bucket met each a one-way trip
        later. Those trips vary as the round trips do, however long they are: a round trip
        50-200 ms away whose every answer comes within a few milliseconds of the least
        (the limiter itself adds a fixed latency) tells a drain's ends far better than one
        that varies by a fifth. So the round trips' spread over the least of late, five
        times over, and never under a fifth of a round trip. Counted as a whole round trip,
        drains of a bucket of 50/s with a burst of 10 at 100 ms answering in seconds
        (0.3-0.9 s after each pause) never fitted, and the run settled at 0.83 of it over
        real sockets; where round trips vary by a fifth, as the simulation's do, this is
        the round trip, as before.
        """
        srtt = self._srtt or 0.0
        spread = self._rtt_spread()
        spread = srtt if spread is None else spread
        return min(srtt, max(_FIT_SPREADS * spread, _FIT_LEAST_SHARE * srtt))

    def _rtt_spread(self) -> float | None:
        """How far the round trips of late spread over the least of them (``None`` before
        any success): how well a send's arrival at the server is known."""
        least = self._least_rtt()
        return (self._srtt or 0.0) - least if math.isfinite(least) else None

    def _fell_in_a_drain(self, pace: float | None, drain: _Drain) -> bool:
        """Whether this 429 ends a drain from a full bucket that the run sent at a pace at or
        under the known limit: the limit fell (or was known high)."""
        return (
            self._limit is not None and pace is not None and pace <= self._limit and drain.kept_up()
        )

    def _cycle_estimate(
        self, first_refused_sent: float, samples: int = _CYCLE_SAMPLES
    ) -> float | None:
        """What the server accepted per second between the last episode and this one,
        counted from ``samples`` successes at least."""
        if self._cycle_start is None or self._cycle_successes < samples:
            return None
        span = first_refused_sent - self._cycle_start
        return self._cycle_successes / span if span >= _CYCLE_SECONDS else None

    def _end_episode(self, now: float) -> None:
        self._in_episode = False
        self._ended_at = now
        # A quick probe's limit is for the episode it meets, however that one ends.
        quick, self._quick_limit = self._quick_limit, 0.0
        refused = self.rate_limited - self._rate_limited_before  # the episode's 429s
        lone = refused <= 1
        self._plain_episode = (
            refused <= _CREEP_REFUSED and not self._episode_paused and not self._episode_by_window
        )
        if (
            self._limit is None
            and lone
            and not self._episode_paused
            and not self._lone_reverted
            and self._stray(now)
        ):
            # One 429 early in a run, when one refusal is a large share of few answers, and
            # by now a share too small to mean a limit: seen again, it was a stray. Nothing
            # was learned; carry on as before it, not with the seconds of a climb from a cut.
            # Once a run: a queue in front of the API (nginx's limit_req) answers all it let
            # wait and refuses one or two as its line overflows, so each of its episodes
            # looks so. Undone each time, the run went back to slow start, overflowed the
            # line again and never learned the limit (a 200/s queue of 20 over real sockets:
            # 0.83 of its rate, 4.6% of requests refused, all run long).
            self._rate, self._curve, slow_start = self._before_episode
            self._lone_reverted = True
            self._first_burst = None  # what got through before it was no bucket's burst
            self._first_refused_sent, self._first_late = math.inf, 0
            if slow_start:
                self._slow_start = True
                self._set_window(max(INITIAL_WINDOW, self._in_flight), now)
            return
        quota = self._recount()
        if quota is not None:
            self._set_window(None, now)  # a quota refuses whatever is in flight
        elif self._window is not None and not self._episode_cut:
            # Only the window was set (a cap on requests in flight): the pace was not the
            # limit, so it carries on where it was.
            self._rate, self._curve, _ = self._before_episode
            # Each probe of the window costs the episode's pauses again: probe it rarely.
            self._unit = max(self._unit, _PAUSE_UNITS * self._pause_cost())
            self._window_grown_at = now
            return
        # The probing curve's time unit: as slow as the server's feedback. A refusal that
        # cost a long pause, or a limit that answers only every so often (a quota), is
        # probed that much more slowly.
        cycle = now - self._episode_origin
        unit_before = self._unit
        self._unit = max(1.0, now - self._episode_started, _CYCLE_UNIT_SHARE * cycle)
        current = self._rate if self._rate is not None else _MIN_RATE
        if quota is not None:
            # A quota, counted over whole windows: its rate, measured. Resume just under it.
            self._limit, self._measured, self._counted = quota, True, True
            # Probing a quota finds nothing until it changes, and a probe that runs it out
            # costs the rest of a window (a pause or polls): climb over windows, not seconds.
            # One window's count alone may be low (the reopening is known to a poll's
            # interval): probed over one window until a second one confirms it.
            windows = _QUOTA_WINDOWS_PER_UNIT if self._reopened and self._reopened.earlier else 1.0
            self._unit = max(self._unit, windows * self._quota_window)
            if self._counted_close:
                # Known closely, it is probed only for a quota raised since: each probe
                # runs a window out and the pause its 429 names takes the start of the
                # next (a second of 500 per 5 s, probed every 30 s: 0.96 of the quota).
                self._unit = max(self._unit, _QUOTA_PAUSE_UNITS * self._pause_cost())
            current = self.margin * quota
            self._curve = _Curve.cubic(now, current, quota, self._unit)
        elif (
            self._episode_estimated
            and self._limit is not None
            and (self._measured or not self._episode_window_void)
        ):
            # (Not where only a window estimated the episode and it was dropped since, over a
            # floor: nothing measured it. Resumed at the floor, a bucket with a burst of 200,
            # its first floor 1.5 times its rate, was refused there every half second.)
            if self._episode_by_window and not self._measured and self._episode_cycle:
                # Only a window (then blind cuts) estimated the episode, and the limit is a
                # floor counted before the cycle it ended: what that cycle accepted a
                # second is a floor too, and the higher of them stands. Held at the older
                # one, a sliding 200 per 10 s answering "Retry-After: 1" (a search climbed
                # from a floor of 3.9/s to 131/s; its 429 held a window, the next ones cut
                # blind) resumed at 4.7/s, its first burst taken for 51 s of burst at that
                # rate: probed over units of 355 s, it ran at 0.24 of the quota for good.
                self._limit = max(self._limit, self._episode_cycle)
            # The burst is counted in seconds of the highest limit an episode has ended on
            # (see _burst_unit).
            self._most_limit = max(self._most_limit, self._limit)
            # Each episode will cost its pauses again: probe so slowly that they stay a
            # small share of the run ("Retry-After: 1" per probe, every 20 s or more), also
            # when the limit is only counted over a cycle; a limit that fell far, sooner.
            self._unit = max(
                self._unit,
                self._paused_unit(quick),
                _probe_requests(self._limit) / self._limit,
                self._burst_unit(self._most_limit),
            )
            if self._episode_found_again:
                # Found where a probe found it before: settled there. Each probe costs a
                # pause and finds the same limit, so they come half as often each time, up
                # to four times the usual unit (a limit that rose is found that much later).
                # Probed every 20-25 s (ten times the pause), a quota of 60 a second
                # answering "Retry-After: 1" paused for a second each time and held
                # 0.93-0.95 of its rate, 0.95-0.97 probed so.
                self._unit = max(
                    self._unit,
                    min(2 * unit_before, _SETTLED_UNITS * _PAUSE_UNITS * self._pause_cost()),
                )
            if self._counted:
                # A quota counted before, run out again (by a probe, or a window too early to
                # tell its count again): it is still probed over windows, not seconds.
                self._unit = max(self._unit, _QUOTA_WINDOWS_PER_UNIT * self._quota_window)
            # Cuts below the limit only polled a server that accepted nothing; resume at it.
            current = max(current, self.margin * self._limit)
            ref = self._limit if self._limit is not None and self._limit > current else current
            climb_after_fall = bool(self._episode_fell_from) and not self._measured
            if climb_after_fall:
                # The limit fell, and what the episode learned is no count of it: CUBIC's
                # share of the pace refused, or floors counted partly before the fall. The
                # new limit may lie either side. The curve climbs toward most of the pace
                # refused, not to that guess (CUBIC's W_max after a loss under the previous
                # one, RFC 8312's fast convergence): a guess over the new limit drains the
                # bucket sooner, one under it passes it within the unit, and the drain
                # measures it. Climbing to the guess, a guess under it held the run there:
                # the benchmark's 300/s bucket replaced by 150/s at 20 ms answering in
                # seconds, cut twice blind from 291/s to 137/s, reached 141/s only late in
                # the halved phase (0.93-0.95 of it over the second half on six seeds of
                # eight, simulated; 0.94 in five runs of five over real sockets).
                ref = max(ref, _FAST_CONVERGENCE * self._episode_fell_from)
            self._curve = _Curve.cubic(now, current, ref, self._unit)
            if climb_after_fall:
                self._fall_curve = self._curve
        else:
            # Nothing measured (refusals, then a pause, then success): what was accepted
            # since the cycle began over the time until the server accepted again, pauses
            # included. Exact for a quota drained at once (quota / window), a floor for a
            # bucket: start there and climb exponentially until the next refusal measures.
            # A search, not a probe: a Retry-After pause is the server's say, not how slow
            # its feedback is, so the climb's unit counts it only up to the least unit (a
            # bucket answering 30 s climbed from its burst per 30 s, doubling every 30 s).
            paused = max(0.0, min(now, self._pause_until) - self._episode_started - 1.0)
            # The cycle's other pauses count as well: two of 30 s (the run's first, and a
            # second after one success) made the cycle's share of it a unit of 7.8 s, and a
            # bucket of 100/s with a burst of one was climbed to over 100 s.
            cycle_paused = max(paused, self._paused_between(self._episode_origin, now) - 1.0)
            self._unit = max(
                1.0,
                now - self._episode_started - paused,
                _CYCLE_UNIT_SHARE * (cycle - cycle_paused),
            )
            floor = self._accepted_since_origin(now, _CYCLE_SECONDS)
            if floor is None and _is_long_pause(self._episode_paused):
                # After a long pause, a floor of however few successes: each pause refills
                # a bucket's burst, and each drain after one gets the burst and little more.
                # Held instead at the blind cut's pace, a bucket of 20/s with a burst of 5
                # answering "Retry-After: 30" was halved from 497/s once a pause, six of
                # them (1,200 items in 251 s; 127 s so).
                floor = self._accepted_since_origin(now, _CYCLE_SECONDS, samples=1)
            if floor is not None:
                # Only a floor: a refusal above it is not "just over the limit".
                self._limit, self._measured = floor, False
                current = max(_MIN_RATE, self.margin * self._limit)
            else:
                # Too few successes to count even a floor: a limit of a few requests a
                # second. Climb no faster than the cycle count can count, one doubling per
                # ten successes: doubling each second, a bucket of 5/s with a burst of 10
                # was refused every 1.2 s after six successes, never counted, and halved
                # blind each time (16-18% of requests refused; 2/s: 29%). Not from a floor:
                # one counted over a long pause is low because of it (a bucket answering
                # "Retry-After: 30" gives its burst per 30 s), and slowed so, the search from
                # it took 22 s to reach 300/s. Up to a floor counted before, the climb counts
                # at that floor's rate: a cap of 4 at 50 ms, cut blind under its floor of
                # 11/s, took 3 s longer to climb to 80/s counted at the cut pace.
                self._unit = max(self._unit, _CYCLE_SAMPLES / max(current, self._limit or 0.0))
            self._curve = _Curve.exponential(now, current, self._unit)
        self._rate = current
        self._window_grown_at = now

    @property
    def _limit_guessed(self) -> bool:
        """Whether the known limit is only CUBIC's share of a pace refused (see _guess)."""
        return self._guess is not None and self._limit == self._guess

    def _track_fall(self) -> float:
        """Note the limit an episode ended on against the highest since a probe met the
        limit, and return how many times its pauses the probing unit lasts.

        ``_PAUSE_UNITS``, so that probes that each cost a pause stay rare; but where the
        limit fell under ``_FELL`` of the highest one episodes have ended on since a probe
        last met the limit, ``_FELL_PAUSE_UNITS``: a limit that fell that far may come back
        (a limit halved for a while), and probed over ten pauses a unit the run climbed
        back to it half a minute later. A 300/s bucket halved to 150/s for 10 s, then
        restored, answering "Retry-After" in seconds, held 150/s for the 28 s the run had
        left (0.53-0.56 of 300/s in that phase's second half, simulated and over real
        sockets). Each probe that meets the limit still down there doubles the units, up
        to the usual ones, from where that limit is the highest: where it stays down, two
        probes come sooner than they would have (each a pause), and where it comes back
        after them, it is found about as soon as before (halved from 10 s to 30 s, within
        2 s of it on three seeds of six; 22-27 s sooner on the other three).

        A guessed limit sets no highest (a count, a floor or a measurement does): one
        guessed, 0.7 of a pace refused, is corrected by the next episode (a 150/s bucket
        with a burst of 150, guessed at 285/s from a search's 429, was measured at 151/s
        next: no fall). A probe's or a search's episode (its first 429 met a pace over the
        known limit) where the limit did not fall sets it afresh, to nothing where it only
        guessed. Not for a counted quota, probed over its windows.
        """
        limit = self._limit
        assert limit is not None
        guessed = self._limit_guessed
        fallen = not self._counted and limit < _FELL * self._high_limit
        # Over the known limit on the climb after a fall (see _end_episode): no probe of a
        # limit known, but the search for the fallen one. Taken for a probe, it doubled
        # the units, and a 300/s bucket halved with its burst kept at 60, then restored,
        # was found again 9 s later (0.78-0.81 of it in the restored phase's second half
        # on five seeds of eight, simulated; 0.99-1.00 so).
        climb = self._before_episode[1]
        probed = self._episode_above_limit and (climb is None or climb is not self._fall_curve)
        if probed and fallen:
            # A probe met it still down there: probed half as often each time, up to the
            # usual unit, from where it is the limit.
            self._fell_units *= 2
            fallen = self._fell_units < _PAUSE_UNITS
        if probed and not fallen:
            self._high_limit = 0.0 if guessed else limit
            self._fell_units = _FELL_PAUSE_UNITS
        elif not guessed:
            self._high_limit = max(self._high_limit, limit)
        return self._fell_units if fallen else _PAUSE_UNITS

    def _paused_unit(self, quick: float) -> float:
        """The probing unit, in seconds, that the pauses of the episode ending now ask for:
        ``_track_fall``'s units of them, or, for the first limit learned with pauses of at
        most 2 s, twenty if a search measured it and two if it is only a floor or a guess.

        ``quick``: the limit a quick probe (below) was sent to find again, if this episode
        is the one it met (``0.0`` otherwise).

        *A measured limit's first probe.* A drain after a pause, from a full bucket,
        measures its rate within a percent or two; the first probe of that limit only pays
        its pause to find it again. Probed over ten pauses a unit, that probe came 22-27 s
        after the search, in the second half of a run of half a minute: a 300/s bucket with
        a burst of 60 at 100 ms answering "Retry-After: 1", measured at 297.7/s over real
        sockets, paused a second at 31.6 s and held 0.949 of its rate over the run's second
        half (0.949-0.951 in three runs, 0.941-0.948 simulated on five seeds of six); probed
        over twenty pauses (``_FIRST_PAUSE_UNITS``), 0.982-1.007 in five runs of six
        (0.986-0.997). Not for a limit the run's first 429 measured, which is no drain
        after a pause (a bucket of 200/s with a burst of 4, measured at 150/s that way,
        found its rate only at its first probe).

        *A floor's or a guess's, quickly.* Such a first limit may be the rate or far under
        it (a 250/s bucket's floor 0.2% over its rate; a 300/s bucket's with a burst of 6,
        14% under; a cap of 20 at 100 ms, 0.83 of its rate), and nothing at the episode's
        end tells which. Probed over ten pauses a unit, the one far under was held there
        into the run's second half. It is probed over two (``_QUICK_PAUSE_UNITS``, each
        counted a second at least: an HTTP date's first waits, not yet known for dates,
        can be a fraction of the second they cost later), and the limit that probe finds,
        if within 10% of it, over twenty, as a measured one. A quick probe costs a pause,
        and a limit far under the rate costs a share of the rest of the run: only where
        what is left of the run lasts twenty pauses or more at the limit
        (``_QUICK_WORK_LEFT``; never where the run's length is unknown, see
        :meth:`work_left`), and where pauses cost half a second or more
        (``_QUICK_PAUSE_LEAST``; shorter ones make ten of them a quick probe already).
        Simulated over the matrix (six seeds, two jitters), 442 -> 396 runs missing a
        target: caps of 8-50 at 100-200 ms answering "1" or dates 80 -> 47 of 132, buckets
        of 300/6 and 200/4 answering in seconds 24 -> 12. Without the work-left bound, a cap
        of 16 at 5 ms learned 8 s into a 20-s run met its quick probe in the second half,
        and the window that probe held then lost a place a 429, each a pause (0.98 of
        the cap -> 0.85 on average over twelve seeds); without the second's grain, a
        halved limit answering dates was found again late (0.96 -> 0.85 of its restored
        phase).

        Once a run; later limits are the probes' own.
        """
        cost = self._pause_cost()
        units = self._track_fall()
        limit = self._limit
        assert limit is not None
        if quick and units == _PAUSE_UNITS:
            # The quick probe's episode: the limit it met where it was probed, confirmed.
            found = quick / _FOUND_AGAIN <= limit <= _FOUND_AGAIN * quick
            return (_FIRST_PAUSE_UNITS if found else units) * cost
        if self._first_probe_set or not 0.0 < cost <= _FIRST_PAUSE_MOST:
            return units * cost
        self._first_probe_set = True
        searched = self._before_episode[1]
        if units != _PAUSE_UNITS or self._counted or searched is None or not searched.doubling:
            return units * cost
        if self._measured:
            return _FIRST_PAUSE_UNITS * cost
        if cost >= _QUICK_PAUSE_LEAST and self._work_left_for(_QUICK_WORK_LEFT * cost):
            self._quick_limit = limit
            return _QUICK_PAUSE_UNITS * max(cost, _RETRY_AFTER_GRAIN)
        return units * cost

    def _burst_unit(self, limit: float) -> float:
        """The probing unit a bucket's burst asks for: 7-40 times its seconds (``_BURST_UNITS``).

        A probe over the rate is refused only once the burst is spent, by what the probe
        sends over the rate; a curve that climbs too fast for that meets its first 429 far
        over it, with a round trip's worth of that excess in flight, all refused. A 200/s
        bucket with a burst of 200 at 100 ms, probed over 1 s units, was refused at 2x its
        rate every few seconds (5% of requests). Seven times the seconds, from half a second
        of burst; where the 429s do not pause the run, longer the more the limit has in
        flight (see _PROBE_OVER): a 250/s bucket with a burst of 50 at 200 ms, probed over
        units of about a second, met 10-40 429s a probe (2.0-2.4% of its requests); 1.5%
        over forty times its burst's seconds. Not where they pause: the pauses' unit is
        long already, and a longer one moved the estimates of the episodes right after it
        (a 300/s bucket with a burst of 60 at 100 ms answering HTTP dates settled at 0.92 of
        its rate on a seed where it held 1.00). Nor for the few in flight a near limit has:
        a 300/s bucket with a burst of 60 at 20 ms, halved and then restored, was found
        again only 10 s after it rose (0.85 of its limits from the run's second second on,
        0.98 so). The burst is what emptied the bucket the run began with, less its refill
        meanwhile (see _first_refill), and less what got through before the sends reached
        the rate: the bucket stayed full while they were under it; 0 when unknown (a bucket
        drained when the run began tells no burst). Counted with slow start's first rounds
        in it, the burst of a 250/s bucket with a burst of 50 at 200 ms read 72-76, a cap
        of 50 at 150 ms, which has none, read 43-48: taken for a bucket far away, it was
        probed over 4-second units and held 0.84 of its rate for ten seconds (0.94 of it
        settled on average over twelve simulated runs; 0.87 and 0.90 over real sockets),
        over 2.3-2.5 s units so (0.96; 0.94 twice). The most, forty, keeps such a bucket's
        unit where twenty put it with its burst counted so.

        ``limit`` is the highest an episode has ended on, not the latest: a limit that came
        down far (a quota's first window, taken for a burst, then counted low) made the
        burst minutes of it, and the unit so long that the run stayed there. A sliding 500
        per 10 s answering "Retry-After: 1" came down to 23/s, was probed over 147-second
        units, and ran at 0.46 of the quota (0.92 so).
        """
        if not (self._first_burst and self._tail_trusted and limit > 0):
            return 0.0
        # What went through before the sends reached the limit's rate was refill too: the
        # bucket stayed full meanwhile (see the docstring). One pass over the first sends.
        reached, refilled = self._first_reached(limit)
        burst = max(0.0, self._first_burst - limit * refilled - reached)
        seconds = burst / limit
        least, most = _BURST_UNITS
        units = least
        if self._pause_cost() <= 0 and self._srtt:
            # Over units of k times the burst's seconds, the cubic has spent k*C*x**4/4 of
            # the burst x units past its plateau, and is C*x**3 over the limit: once all of
            # it is spent, a round trip's worth of that excess is refused (_PROBE_OVER).
            excess = _PROBE_OVER / (limit * self._srtt)
            units = min(max(4 / _CUBIC_C * math.pow(excess / _CUBIC_C, -4 / 3), least), most)
        if units <= least and seconds < _BURST_UNIT_FROM:
            return 0.0  # the usual unit's probes spend it soon enough
        return units * seconds

    def _burst_of(self, rate: float) -> float | None:
        """The burst of a bucket of ``rate`` that the run's first count emptied: what got
        through before its first 429, less what the bucket refilled meanwhile (see
        _first_refill). ``None`` before the first 429, or if nothing got through before it."""
        if not self._first_burst:
            return None
        return self._first_burst - rate * self._first_refill(rate)

    def _note_wait_end(self, end: float) -> None:
        """Tell HTTP dates from other waits by where they end.

        A date names a whole second, so the waits it gives end whole seconds apart (this
        clock runs at the wall clock's rate); other fractional waits end anywhere, and now
        and then by chance whole seconds apart. So the server's waits are taken for dates
        while the last three waits of different ends have ended whole seconds apart.
        """
        if self._wait_end is None:
            self._wait_end = end
            return
        apart = abs(end - self._wait_end)
        seconds = round(apart / _RETRY_AFTER_GRAIN)
        if seconds < 1:
            return  # under half a second apart (waits of milliseconds): no evidence
        whole = abs(apart - seconds * _RETRY_AFTER_GRAIN) <= _DATE_TOLERANCE
        self._dated_in_a_row = self._dated_in_a_row + 1 if whole else 0
        self._wait_end = end

    @property
    def _waits_dated(self) -> bool:
        return self._dated_in_a_row >= _DATED_IN_A_ROW

    def _pause_cost(self) -> float:
        """What a probe may cost in pauses: the episode's, or a second if waits are dates.

        An HTTP date says "until that second": a refusal pauses the run for anything from
        nothing to a second, whatever the last one cost. Probed at ten times the shorter
        pauses, a 300/s bucket answering dates paused every 10 s and settled at 0.92 of its
        rate (0.99 answering ``Retry-After: 1``, probed every 20-30 s).
        """
        if self._episode_paused <= 0.0:
            return 0.0
        if not self._waits_dated:
            return self._episode_paused
        return max(self._episode_paused, _RETRY_AFTER_GRAIN)

    def _recount(self) -> float | None:
        """A quota's rate from the successes between two reopenings, if they tell it.

        A quota per window accepts nothing from its exhaustion to the window's end, then its
        whole count again, however fast it is sent. An episode in which the server accepted
        nothing sent after its first 429 until it accepted again ends at a **reopening**. It
        lies between the last refused send and the first accepted send; when the server
        named a wait, also within a second before the wait's end (``Retry-After`` has whole
        seconds, as a number or a date, rounded up or not). A sliding window frees up one
        admission at a time, as it was spent: after a named wait of 2 s or more it reopens
        at the wait's end, though it still refuses some of what follows. Between two
        reopenings one window apart, a quota accepted its count: while the successes between
        them match the first window's (within 10%), the chain of such windows goes on.
        Reopenings further apart held a window the run did not exhaust (its count is short):
        they start a new chain, as do two that held less than a window's count, at that
        count (the first may have held two windows' counts: a run begun just before one
        ended); but not a counted quota's that named its wait and lie whole windows apart
        (see :meth:`_across_short_windows`).

        A chain starts only at an episode that refused everything for half a second unpaced
        (a token bucket of 2 requests a second or more refills sooner), or for 2 s or more
        with a wait named; a bucket answering ``Retry-After: 30`` is dead for 30 s each time
        too, so a chain of named waits tells a rate only once the server's waits have
        differed (a quota's wait is what is left of its window; such a bucket's is the same
        each time), or where it refused everything for three of its waits or more
        (``_DEAD_OVER_WAIT``: a quota answering a fixed ``Retry-After: 1``), or, a quota
        counted already, where the chain tells it closely. Each earlier
        reopening of the chain (the last few kept) with the latest one bounds the rate from
        above: their count over the shortest time between them, if that is half their
        distance or more (and from below: over the longest). The pair known best gives the
        estimate: taken too high, the run still runs each window out (paying a few 429s)
        and the chain goes on, its ends known closer each time, since a window run out late
        leaves less time to poll in; taken too low, it would leave the rest of each window
        unused for good. Once the bounds are within 4% (``_QUOTA_CLOSE``) of each other,
        a quota naming whole seconds to wait is taken at the lower one: run out just
        before its end, each window cost the next the rest of that second.

        Returns:
            The quota's rate in requests per second, or ``None`` when nothing is told.
        """
        self._counted_close = False
        first_ok = self._episode_first_ok_sent
        last_refused = self._episode_last_refused_sent
        named = self._pause_until > self._episode_started
        dead = first_ok - self._episode_started  # how long it refused everything sent
        if named and last_refused >= first_ok and dead >= _QUOTA_PAUSE:
            # Refused for seconds with a wait named, then accepting some and refusing
            # others: a sliding window freeing up as it was spent, one admission at a time.
            # It reopened when the named wait ended; what it refused after that came before
            # the admissions it was spending left the span. Taken for no quota, a sliding
            # 1,000 per 10 s answering its exact wait was never counted: each search's burst
            # came back a window later as refusals between successes, the counts over them
            # were of that burst, and the run was held at 0.1-0.2 of the quota for good
            # (0.97-0.99 counted so).
            last_refused = -math.inf
        if not last_refused < first_ok < math.inf:
            # The server accepted some while refusing others: no quota's doing.
            self._reopened = None
            self._counted = False
            return None
        latest = min(first_ok, self._pause_until) if named else first_ok
        earliest = max(last_refused, latest - _RETRY_AFTER_GRAIN) if named else last_refused
        at, uncertain = (earliest + latest) / 2, latest - earliest
        count = self.succeeded - self._episode_successes
        previous = self._reopened
        if previous is None:
            if dead < (_QUOTA_PAUSE if named else _QUOTA_POLLED):
                return None  # too short to tell a quota's window from a bucket's refill
            in_window = count - self._episode_origin_succeeded
            self._reopened = _Reopening(at, uncertain, count, float(in_window))
            if (
                named
                or in_window < _CYCLE_SAMPLES
                or self._episode_origin != self._start  # its count may span windows
                or earliest <= self._episode_origin
            ):
                return None
            # The run's first episode refused everything with no wait named, polled all
            # along: no token bucket, a quota. It accepted a window's count from the run's
            # start until it reopened, so its count over the shortest time
            # that can have been is the most its rate can be (more still if its first window
            # began before the run did). Taken too high, the next window runs out and the
            # chain goes on; taken too low, it would leave the rest of each window unused.
            self._quota_window = earliest - self._episode_origin
            return in_window / self._quota_window
        accepted = count - previous.count
        per_window = previous.per_window
        chain: _Reopening | None = None
        if accepted >= _CYCLE_SAMPLES and abs(accepted - per_window) <= 0.1 * per_window:
            chain = previous.then(at, uncertain, count)
        elif named:
            chain = self._across_short_windows(previous, at, uncertain, count)
        if chain is None:
            # Not one window's count since the last reopening (one went unexhausted, or
            # this is no quota): a new chain starts here. One that counted less than a
            # window's count is the count now: a run begun just before a window ended got
            # two windows' counts before its first 429, and kept, that doubled count matched
            # no window after it, so no chain told the rate (300 per 1 s without a
            # Retry-After, run out at twice its rate each window, then polled: 5-23% of
            # requests refused; 2% counted so). A count over it may hold two windows.
            if _CYCLE_SAMPLES <= accepted < per_window:
                per_window = accepted
            self._reopened = _Reopening(at, uncertain, count, per_window)
            return None
        # Whole windows since the last reopening, the last one exhausted: the chain goes on.
        self._reopened = chain
        bound = chain.bound()
        if bound is None:
            return None  # its ends are still too vague
        most, least, window = bound
        # Counted closely, a quota whose 429s name whole seconds to wait is paced from the
        # least its rate can be: paced at the most, just over it, each other window ran
        # out just before its end and the second its 429 named took a fifth of the next
        # (500 per 5 s answering "1": 0.90 of the quota). Elsewhere from the most: each
        # window runs out, the chain grows a window at a time, and a quota polled, or
        # naming the wait to its reopening (a fraction, a date), costs only a few 429s
        # (paced from the least, 100 per 10 s answering its exact wait: 0.96, from 0.975).
        close = (
            named
            and self._waits_whole
            and self._counted
            and least >= _QUOTA_CLOSE * most
            and chain.on_lattice()
        )
        if (
            named
            and not self._waits_varied
            and not close
            and dead < _DEAD_OVER_WAIT * (self._first_wait or math.inf)
        ):
            # The same wait each time, and the server accepted again within a few of them:
            # a bucket's, maybe. Not a server refusing everything for many of its waits: a
            # quota of 3,000 a minute answering "Retry-After: 1", never counted, was taken
            # for a bucket of 190-770/s, ran each window out in seconds and was polled for
            # the rest (2.2-2.4% of the requests refused; 0.7% counted). Nor a quota
            # counted so, once its chains tell it closely: left to its first chain's bound
            # (each window run out just before its end, refusing only until the wait's
            # end), 500 per 5 s answering "1" was counted 4-5% high for minutes.
            return None
        self._quota_window, self._counted_close = window, close
        return least if close else most

    def _across_short_windows(
        self, previous: _Reopening, at: float, uncertain: float, count: int
    ) -> _Reopening | None:
        """``previous``'s chain carried on to a reopening at ``at`` several of a counted
        quota's windows later, the run having left some between short (``None``: it lies
        on no whole number of windows).

        A counted quota's reopenings lie whole windows apart. Paced just over the quota, a
        run runs a window out just before its end, and the pause its 429 names takes the
        start of the next: that one goes short and the next runs out. Such reopenings,
        two windows apart, each ended its chain: the quota was never counted closer than
        its first chain's bound (500 per 5 s answering "Retry-After: 1" counted at
        104-105/s for minutes). They carry it on where they lie a whole number of windows
        apart (to what is known of their ends and a tenth of a window), and what was
        accepted between is at least the last window's count and at most theirs. (Only
        where a wait was named: a window left short without one was paced under the quota,
        and polled, a window run out costs little.)
        """
        window = self._quota_window
        if not self._counted or window <= 0.0:
            return None
        apart = at - previous.at
        windows = round(apart / window)
        slack = (uncertain + previous.uncertain) / 2 + _SKIPPED_SLACK * window
        if windows < 2 or 2 * slack >= window or abs(apart - windows * window) > slack:
            return None
        per_window = previous.per_window
        least = per_window * (1.0 + _SHORT_WINDOW_LEAST * (windows - 1))
        if not least <= count - previous.count <= (windows + 0.1) * per_window:
            return None
        # And where the chain so far, with it, does not lie off whole windows: a sliding
        # window's reopenings, paced at its rate, often lie near whole windows apart by chance.
        chain = previous.then(at, uncertain, count, windows)
        return None if chain.off_lattice() else chain

    def _measured_accepted_rate(self, now: float) -> float:
        span = now - self._second_start
        if span >= 1.0:
            return self._second_count / span
        if self._accepted_rate:
            return self._accepted_rate
        # The run's first second, not over yet: what it holds, over a few round trips at least
        # (counted over a whole second, a bucket's 60/s at 0.6 s read 34/s).
        return self._second_count / max(span, _RATE_ROUND_TRIPS * self._srtt if self._srtt else 1.0)

    # -- pauses and stops --------------------------------------------------------------------

    def _pause(self, now: float, retry_after: float) -> float:
        """Pause everyone for ``retry_after``; returns how much longer that makes the wait."""
        self._pause_set_at = now
        if abs(retry_after - round(retry_after)) > _SAME_SECONDS:
            self._waits_whole = False
        if self._first_wait is None:
            self._first_wait = retry_after
        elif abs(retry_after - self._first_wait) > min(
            0.1 * max(retry_after, self._first_wait), _WAITS_APART
        ):
            # A wait the server works out (what is left of a window) differs from the
            # first by where the run ran the window out; a fixed one (a bucket answering
            # "30" whatever its tokens) by a date's second at most. A minute's quota run
            # out 1-6 s into each window named 54-59 s: under a tenth apart, so taken for
            # a fixed wait, it was never counted (each window run out at 485/s, 2% 429s).
            self._waits_varied = True
        self._note_wait_end(now + retry_after)
        if now >= self._refill_from:  # a new pause, not a longer one
            self._pause_began = now
        self._refill_slowest = math.inf
        self._refill_from = max(self._refill_from, now + retry_after)
        self._restart_edge(self._refill_from)  # the edge counts from the pause's end
        self._refill_successes = 0
        return self._hold_pause(now, retry_after)

    def _hold_pause(self, now: float, retry_after: float) -> float:
        """Hold every send for ``retry_after`` (or stop, past ``max_pause`` if so asked).

        :meth:`_pause` without the learning: all a run needs to honour a ``Retry-After``.
        Returns how much longer that makes the wait.
        """
        if retry_after > self.max_pause:
            if self.on_long_pause == "stop":
                self._stop = LongRetryAfterError(retry_after, self.max_pause)
                return 0.0
            # Waiting a long pause was chosen, not suffered: it does not count as a stall.
            self._stall_origin = max(self._stall_origin, now + retry_after)
            self._long_pause_until = max(self._long_pause_until, now + retry_after)
        until = max(self._pause_until, now)
        self._pause_until = max(until, now + retry_after)
        if self._pauses and self._pauses[-1][1] >= now:
            self._pauses[-1][1] = self._pause_until  # the same pause, made longer
        else:
            self._pauses.append([now, self._pause_until])
        return self._pause_until - until

    def _paused_between(self, start: float, end: float) -> float:
        """Seconds of ``[start, end]`` that the run spent paused (as far as pauses are kept)."""
        paused = 0.0
        for began, ended in reversed(self._pauses):
            if ended <= start:
                break
            paused += max(0.0, min(ended, end) - max(began, start))
        return paused

    def _raise_if_stopped(self, now: float) -> None:
        if self._stop is not None:
            raise self._stop
        if (
            self.stall_timeout is not None
            and self._refused_in_a_row
            and now - self._stall_origin >= self.stall_timeout
        ):
            self._stop = RateLimitStalledError(now - self._stall_origin)
            raise self._stop


class _Peak(NamedTuple):
    """The stint accepted fastest while 429s were a stray's share of its answers."""

    accepted: float  # what it accepted a second, from its first 429 on
    share: float  # its share of 429s
    answers: int  # ... counted over this many answers


class _Stints:
    """The share of 429s among the answers at each pace the run was sent at, stint by stint.

    A stint is the requests sent from one episode's first 429 to the next one's; one with
    fewer than ``_STINT_ANSWERS`` answers goes on into the next. Its pace is what it
    accepted from the send of its first 429 on: a token bucket that refused a request is
    empty, and what it accepted before was burst, drained at any pace (counted from the
    stint's start, the run's first read 861/s against a 300/s bucket, and against a 45/s
    one, carried past its first 429 for want of answers, 123/s; each taken for the peak, the
    bucket's 429s at its rate passed for strays). Random 429s accept the same pace before
    and after. The peak is the stint accepted fastest while 429s were a stray's share of its
    answers (``_STINT_SHARES``; a flood over a limit is refused far more, and a settled
    stint far less). A stint accepted at under ``_STINT_FELL`` of the peak's rate and
    refused about as often as the peak (see ``_alike``; over ``_STINT_REFUSED`` 429s at
    least) says that the 429s ignore the pace; one refused less, once enough answers tell
    it, says that it followed the pace down, as a limit's do. A settled stint refused far
    less than the peak (under ``_STINT_CALM`` of its share, and under a stray's least
    share) says so at any pace: the peak goes.

    Where 429s are frequent, a stint is told by fewer answers (``_STINT_SHORT``): a quarter
    to a third of the answers refused at random began an episode every few answers, and
    each halved the pace blind, so by the time a stint had its 30 answers the pace had
    fallen from hundreds a second to a dozen, and that was the peak the later stints were
    judged against; they never fell far enough under it. 2,000 items on a server with no
    limit but 15-35% of its answers 429 at random (none asking for a pause) took 4-5,466 s
    in the simulation, six runs of nine over two minutes (0.7 s with none; 4-8 s told
    so), and the reliability suite's 60 operations against the emulator (35% refused,
    ``Retry-After: 0``) 186-215 s, held at half a request a second (2-41 s told so). Up
    to half the answers refused may be a stray's share: more is a limit's flood.
    """

    def __init__(self, now: float) -> None:
        self.peak: _Peak | None = None
        self._restart(now)

    def _restart(self, now: float) -> None:
        self.since = now  # the stint counts requests sent from here
        self.answers = 0
        self.refused = 0
        self.first_refused = math.inf  # the send of its first 429 (in the order answered)
        self.accepted = 0  # ... and the successes sent after it
        self.last_sent = -math.inf

    def answered(self, sent: float, *, refused: bool) -> None:
        if sent >= self.since:
            self.answers += 1
            self.refused += refused
            if refused and self.first_refused == math.inf:
                self.first_refused = sent
            elif not refused and sent > self.first_refused:
                self.accepted += 1
            self.last_sent = max(self.last_sent, sent)

    def _alike(self, share: float, peak: _Peak) -> bool:
        """Whether the stint was refused about as often as the peak: ``_STINT_ALIKE`` of its
        share at least, or less by fewer than ``_STINT_APART`` standard errors of the two
        shares (counted over as few as 30 answers, the peak's is loose: 5 of 31 refused in
        an unlucky start to a run refused 6% of the time at random, and a stint at 6.5%,
        17 of 263, passed for one that fell with the pace; the run took 71 s, 12.5 s so).
        """
        if share >= _STINT_ALIKE * peak.share:
            return True
        pooled = (peak.share * peak.answers + self.refused) / (peak.answers + self.answers)
        spread = math.sqrt(pooled * (1.0 - pooled) * (1 / peak.answers + 1 / self.answers))
        return peak.share - share < _STINT_APART * spread

    def close(self, now: float) -> tuple[float, float] | None:
        """End the stint at an episode's first 429, which came back at ``now``.

        Returns:
            Where the 429s ignore the pace: their share (the stint's and the peak's, on
            average) and the peak's rate; otherwise ``None``. The peak stays until the
            caller acts on it (see ``RateGovernor._ignore_the_pace``): dropped here, it was
            lost where a window held for a cap kept the caller from acting, and the stints
            began again from a peak of whatever pace the run had fallen to by then.
        """
        span = self.last_sent - self.first_refused
        far = (
            self.peak is not None
            and span > 0
            and self.accepted / span <= _STINT_FAR * self.peak.accepted
        )
        answers, refused = _STINT_FAR_SHORT if far else _STINT_SHORT
        enough = self.answers >= _STINT_ANSWERS or (
            self.answers >= answers and self.refused >= refused
        )
        if not enough or span <= 0:
            return None  # too few answers to tell a share: the stint goes on
        if not self.accepted:
            # Nothing sent since its first 429 was accepted yet: no pace the server took to
            # compare (a queue in front of the API answers all it let wait, and refuses at
            # once what overflows it). Taken for a peak of 0/s, two such stints "ignored the
            # pace", and the run searched up from a limit of 0/s: a division by zero ended
            # it (a 500/s queue of 50 at 10 ms, over real sockets). The stint goes on.
            return None
        share = self.refused / self.answers
        accepted = self.accepted / span
        peak, found = self.peak, None
        if (
            peak is not None
            and self.answers * peak.share >= _STINT_EXPECTED
            and share < min(_STINT_SHARES[0], _STINT_CALM * peak.share)
        ):
            # Settled, refused far less than the peak was, over enough answers to tell: its
            # 429s followed the pace down, as a limit's do, and random ones would not have.
            # Kept, a peak counted in the run's first flood (a bucket's burst drained by
            # slow start, 468/s with 5% refused, or 113/s with 44%) stood for good, and a
            # limit that fell ten seconds later, met at under 0.4 of it with a like share,
            # was taken for 429s that ignore the pace: their share set the noise, and
            # 20-40% of the answers passed for strays for the rest of the halved phase (a
            # bucket of 100/s with a burst of 10 halved, answering no Retry-After: 20% of
            # the run's requests refused, 2.1% so).
            self.peak = peak = None
        least, most = _STINT_SHARES
        if least <= share <= most:
            if peak is None or accepted > peak.accepted:
                self.peak = _Peak(accepted, share, self.answers)
            elif accepted > _STINT_FELL * peak.accepted:
                return None  # not far enough under the peak to tell: the stint goes on
            elif self.refused >= (refused if far else _STINT_REFUSED) and self._alike(share, peak):
                found = ((share + peak.share) / 2, peak.accepted)
            elif self.answers * peak.share < _STINT_EXPECTED:
                return None  # refused less, but too few answers yet to tell it fell
        self._restart(now)
        return found


class _Creep:
    """Episodes of a few 429s in a row, each taking the limit a little lower than the last.

    A limit refuses a pace over it: met again where the run probed above it, it is measured
    where it was, give or take. 429s that ignore the pace come at any pace, and where each
    clears the noise (it rises slowly) it measures a limit a few percent under the pace it
    came at, the next one a few percent under that, and the run creeps down. Over
    ``_CREEP_EPISODES`` such episodes in a row (each of a few 429s, no pause, no window
    held for a cap; each lowering the limit by less than ``_CREEP_STEP``: a limit that
    halved is met by a flood and cut at once), once the limit is down to ``_CREEP_FELL`` of
    where they began and the 429s were a stray's share of the answers meanwhile
    (``_CREEP_SHARES``, counted from the first of them: counted from the episode before,
    the calm that preceded them diluted a fallen limit's half of the answers refused to
    3%, and a slow bucket with a burst of one, halved, was searched up into again), they
    ignore the pace. A limit that really falls bit by bit (shared with a client that ramps
    up) looks the same; taken for strays, its 429s then meet the search from where the
    creep began, a flood that is a limit's again.
    """

    def __init__(self) -> None:
        self._restart(None)

    def _restart(self, limit: float | None) -> None:
        self.first = limit  # the limit the creep began under
        self.last = limit  # ... and the one the latest episode began under
        self.episodes = 0
        self.answers = 0
        self.refused = 0

    def answered(self, *, refused: bool) -> None:
        self.answers += 1
        self.refused += refused

    def episode(self, limit: float | None, *, plain: bool) -> tuple[float, float] | None:
        """At an episode's first 429, under ``limit``; ``plain``: the episode before it had
        a few 429s, no pause, no window (and this one pauses none).

        Returns:
            Where the 429s crept the limit down: their share and the limit the creep began
            under; otherwise ``None``.
        """
        last, first = self.last, self.first
        if (
            limit is None
            or last is None
            or first is None
            or not plain
            or not _CREEP_STEP * last <= limit < last
        ):
            self._restart(limit)
            return None
        self.episodes += 1
        self.last = limit
        if self.episodes == 1:
            self.answers = self.refused = 0  # the share counts from this episode on
        if self.episodes < _CREEP_EPISODES or limit > _CREEP_FELL * first:
            return None
        share = self.refused / max(1, self.answers)
        self._restart(None)
        least, most = _CREEP_SHARES
        return (share, first) if least <= share <= most else None


@attrs.define(slots=True)
class _PausedRound:
    """The requests in flight when an episode's first 429 paused the run, sent since the
    refused one: what the server accepted of them is its rate.

    A token bucket that refused a request is empty, and stays so while it is sent over its
    rate: between two refused sends it accepts what it refilled, its rate times the time
    between them, give or take one. Counted only where refusals go on to the end of the
    round (a window quota that reopened during it accepted everything after, and tells no
    rate), at least ``_ROUND_SAMPLES`` were accepted between them (each one more or less is
    an eighth), and they lie ``least_span`` apart (each end is known to a one-way trip);
    never under ``floors``. Its requests answered before the 429 that paused the run are
    not counted, so neither is that 429's own send: the span runs between refused sends of
    the round itself (counted from it, a 300/s bucket was read at 253/s). Where it tells no
    rate, what it accepted since ``first`` is still a floor under a bucket's (``floor``).
    Kept only while the round is out: at most the run's concurrency.
    """

    first: float  # the refused send the episode began with
    at: float  # when its 429 came back and paused the run (the episode's start)
    offered: float  # the pace the round was sent at
    pending: int  # its answers still to come
    accepted: list[float] = attrs.Factory(list)  # the sends of its successes
    refused: list[float] = attrs.Factory(list)  # ... and of its 429s
    first_refused: float = math.inf  # its earliest refused send
    last_refused: float = -math.inf  # ... and its latest
    last_sent: float = -math.inf  # its latest send answered
    floors: float = 0.0  # what the episode's first 429 measured under the rate
    episode: float = -math.inf  # when the episode it measures began (none yet: -inf)

    def holds(self, sent: float) -> bool:
        return self.first <= sent < self.at

    def answered(self, sent: float, *, refused: bool) -> None:
        self.pending -= 1
        self.last_sent = max(self.last_sent, sent)
        if refused:
            self.refused.append(sent)
            self.first_refused = min(self.first_refused, sent)
            self.last_refused = max(self.last_refused, sent)
        else:
            self.accepted.append(sent)

    def floor(self, spread: float) -> float | None:
        """What the server accepted a second of the round, from the send the pausing 429
        refused (``first``) to its latest send, that span taken ``spread`` longer (the
        sends reached the server a one-way trip later, which varies); ``None`` with fewer
        than ``_ROUND_SAMPLES`` accepted. A token bucket empty at ``first`` accepts no more
        than it refills meanwhile, plus one: a floor under its rate, whatever the round's
        refusals did (a cap refuses a few at its start, then accepts the rest).
        """
        span = self.last_sent - self.first
        count = sum(1 for at in self.accepted if self.first < at <= self.last_sent)
        if count < _ROUND_SAMPLES or span <= 0:
            return None
        return (count - 1) / (span + spread)

    def rate(self, least_span: float) -> float | None:
        """What the server accepted a second between the first and the last refused send,
        if it measures a rate (they are ``least_span`` apart or more); else ``None``.

        Not where the round was sent in clumps (slow start's windows, a round trip apart),
        a gap between them over ``_ROUND_GAP_SHARE`` of the span: a bucket with a small
        burst overflows in the gap, and accepts its burst a clump, not its rate. Two
        clumps of a 300/s bucket with a burst of 6 at 50 ms, 43 ms apart, were read at
        186/s; probed from there over units of 10 s, the run held 0.73 of the rate in its
        second half (0.91 searched up from a floor instead).
        """
        span = self.last_refused - self.first_refused
        if span < max(least_span, 1e-6) or self.last_refused < self.first + 0.5 * (
            self.last_sent - self.first
        ):
            return None
        between = sorted(
            at
            for at in itertools.chain(self.accepted, self.refused)
            if self.first_refused <= at <= self.last_refused
        )
        gap = max((later - at for at, later in itertools.pairwise(between)), default=0.0)
        if gap > _ROUND_GAP_SHARE * span:
            return None
        count = sum(1 for at in self.accepted if self.first_refused < at < self.last_refused)
        rate = count / span
        if count < _ROUND_SAMPLES or rate >= _ROUND_ACCEPTED_MOST * self.offered:
            return None  # too few to tell, or nearly all accepted: no sign of a bucket empty
        return max(rate, self.floors)


@attrs.frozen(slots=True)
class _Drain:
    """A token bucket emptied from full: from the end of a pause to the first 429 after it.

    Attributes:
        span: seconds from the pause's end to the first refused send.
        accepted: successes sent in between.
        slowest: the slowest the run could send at in between: the pace, or a window per
            round trip where one held the run under it (``inf``: unpaced, no window).
        pause: how long the pause before it lasted.
    """

    span: float
    accepted: int
    slowest: float
    pause: float

    def kept_up(self) -> bool:
        """Whether it followed a pause and its sends kept up with what the run could send
        (no idle workers): the bucket was full at its start and sent at its pace throughout."""
        return self.pause > 0 and self.accepted >= _FIT_FOLLOWED * self.slowest * self.span

    def rate(self, srtt: float | None) -> float:
        """What it accepted per second, once it lasted a few round trips (else 0)."""
        if self.span <= 0 or self.span < _RATE_ROUND_TRIPS * (srtt or 0.0):
            return 0.0
        return self.accepted / self.span

    def fit(self, other: _Drain, most_burst: float | None = None) -> float | None:
        """The rate of a bucket that both drains emptied (``None``: they do not tell it).

        ``accepted = burst + rate * span`` for each. They tell the rate only if one lasted
        clearly longer than the other, the rate is under every pace they were sent at (the
        bucket never overflowed), and the burst is one the pauses could fill and at most
        ``most_burst`` (what is known to bound it). Two drains either side of a change of
        limit fit neither bucket but a rate between the two, with a burst larger than
        either's: over real sockets, 237-251/s for a 300/s bucket replaced by one of 150/s,
        and the halved phase, cut to 0.7 of that (still over 150/s), met the 429 that
        measured it seconds later.
        """
        short, long = sorted((self, other), key=lambda d: d.span)
        if long.span < _FIT_SPREAD * short.span:
            return None
        rate = (long.accepted - short.accepted) / (long.span - short.span)
        burst = short.accepted - rate * short.span
        if not 0 < rate < _FIT_UNDER * min(short.slowest, long.slowest):
            return None
        if not 1 <= burst <= rate * min(short.pause, long.pause):
            return None
        if most_burst is not None and burst > most_burst:
            return None
        return rate


class _Tail:
    """Successes counted by the slot of time they were sent in, over the last two seconds."""

    __slots__ = ("_counts", "_newest", "_slots")

    def __init__(self) -> None:
        self._slots = [-1] * _TAIL_SLOTS
        self._counts = [0] * _TAIL_SLOTS
        self._newest = -1

    def add(self, sent: float) -> None:
        slot = int(sent // _TAIL_SLOT)
        if slot <= self._newest - _TAIL_SLOTS:
            return  # sent over two seconds before the latest: its slot is reused
        self._newest = max(self._newest, slot)
        i = slot % _TAIL_SLOTS
        if self._slots[i] != slot:
            self._slots[i], self._counts[i] = slot, 0
        self._counts[i] += 1

    def floor(self, until: float, burst: int, least: float, refilled: float = 0.0) -> float:
        """The most ``(accepted - burst) / (span - refilled)`` over spans ending at ``until``.

        A token bucket empty at ``until`` held at most ``burst`` tokens at any time before,
        so what it accepted over the span before is at most that plus its rate times it.
        ``burst`` held ``refilled`` seconds of refill at that rate (counted only up to half
        the span), so the bucket itself held that much less.
        """
        last = int(until // _TAIL_SLOT)
        best = 0.0
        accepted = 0
        for back in range(_TAIL_SLOTS - 1):
            slot = last - back
            i = slot % _TAIL_SLOTS
            if self._slots[i] == slot:
                accepted += self._counts[i]
            span = until - slot * _TAIL_SLOT
            if span >= least:
                best = max(best, (accepted - burst) / max(span - refilled, span / 2))
        return best


@attrs.frozen(slots=True)
class _Reopening:
    """The end of an episode in which the server accepted nothing until it reopened.

    Attributes:
        at: when it reopened (the middle of what is known).
        uncertain: how long the span it is known to lie in lasts.
        count: successes in the run before it.
        per_window: successes per window of the quota it seems to be.
        earlier: the reopenings before it in its chain of whole windows, as ``(at,
            uncertain, credited)``, oldest first, the last few only.
        credited: the successes credited to the chain's windows up to it: what the
            server accepted, where each window was run out; a window's count for each
            window the run left short (see :meth:`then`).
    """

    at: float
    uncertain: float
    count: int
    per_window: float
    earlier: tuple[tuple[float, float, float], ...] = ()
    credited: float = attrs.field()

    @credited.default
    def _credited_default(self) -> float:
        return float(self.count)

    def then(self, at: float, uncertain: float, count: int, windows: int = 1) -> _Reopening:
        """The next reopening of this chain, ``windows`` of the quota's windows later.

        One window later, it counts what the server accepted since. Several windows later
        (the run left one or more of them short of the count: a pause that began in one
        window ended in the next), each is credited a window's count, as the quota's rate
        is its count per window however much of it the run used.
        """
        earlier = (*self.earlier, (self.at, self.uncertain, self.credited))
        credited = self.credited + (
            count - self.count if windows == 1 else windows * self.per_window
        )
        return _Reopening(at, uncertain, count, self.per_window, earlier[-_CHAIN_KEPT:], credited)

    def off_lattice(self) -> bool:
        """Whether the chain's reopenings are known not to lie whole windows apart (too few
        to tell: ``False``; see :meth:`on_lattice`)."""
        return len(self.earlier) >= _LATTICE_LEAST and not self.on_lattice()

    def on_lattice(self) -> bool:
        """Whether the chain's reopenings lie whole windows apart, as a fixed window's do.

        A window of one length from the chain's first reopening to its latest puts each
        reopening between them at a whole number of windows from the first; each must lie
        there to within what is known of it and of the two ends. A sliding window's lie
        wherever its pauses ended: its counts, paced at its rate, still match whole
        windows, so a chain of it counted 500 per 5 s answering in seconds as 93/s, known
        "closely" (0.93 of it). Needs two reopenings between the ends at least.
        """
        if len(self.earlier) < _LATTICE_LEAST:
            return False
        first, uncertain, credited = self.earlier[0]
        windows = round((self.credited - credited) / self.per_window)
        if windows < 1:
            return False
        length = (self.at - first) / windows
        ends = max(uncertain, self.uncertain) / 2
        for at, known, then_credited in self.earlier[1:]:
            whole = round((then_credited - credited) / self.per_window)
            if abs(at - first - whole * length) > known / 2 + ends + _SAME_SECONDS:
                return False
        return True

    def bound(self) -> tuple[float, float, float] | None:
        """The most and the least the quota's rate can be, and its window's length, if the
        chain tells.

        Each earlier reopening bounds the rate: the count since it over the shortest and
        the longest time it can have taken. The pair known best (the least uncertain for
        how long it lasted) counts, if that shortest time is at least half of the time
        between their middles (``None``: no pair is known well enough).
        """
        best: tuple[float, float, float, float] | None = None  # (vague, most, least, window)
        for at, uncertain, credited in self.earlier:
            span = self.at - at
            vague = (uncertain + self.uncertain) / 2 / span
            if vague > 0.5 or (best is not None and vague >= best[0]):
                continue
            accepted = self.credited - credited
            best = (
                vague,
                accepted / (span * (1.0 - vague)),
                accepted / (span * (1.0 + vague)),
                span / round(accepted / self.per_window),
            )
        return None if best is None else best[1:]


@attrs.frozen(slots=True)
class _Curve:
    """The pace between episodes, a function of time only (never of successes).

    ``cubic``: ``ref * (1 + C * (x - k) ** 3)`` with ``x`` in units since ``epoch``: it starts
    at the rate after the cut, flattens at ``ref`` (the measured limit) after ``k`` units,
    then probes above it ever faster. ``exponential``: doubles every unit, for when nothing
    was measured and the limit may be far above.
    """

    epoch: float
    start: float
    ref: float
    unit: float
    k: float
    doubling: bool

    @classmethod
    def cubic(cls, epoch: float, start: float, ref: float, unit: float) -> _Curve:
        k = ((1.0 - start / ref) / _CUBIC_C) ** (1.0 / 3.0) if ref > start else 0.0
        return cls(epoch, start, ref, unit, k, doubling=False)

    @classmethod
    def exponential(cls, epoch: float, start: float, unit: float) -> _Curve:
        return cls(epoch, start, start, unit, 0.0, doubling=True)

    def rate(self, now: float) -> float:
        x = (now - self.epoch) / self.unit
        if self.doubling:
            return self.start * math.pow(2.0, min(x, 60.0))
        x -= self.k
        return max(_MIN_RATE, self.ref * (1.0 + _CUBIC_C * x * x * x))


def _probe_requests(limit: float) -> float:
    """The requests at ``limit`` a probing unit lasts at least: 100, and up to 250 where
    those take 2.5 s or less (``_PROBE_REQUESTS``).

    Each probe costs a 429 or a few. Over 100 requests a 100/s bucket with a burst of 20 at
    50 ms was probed every 2.5-3 s; over 250, every 6 s. Not longer than 2.5 s: over 250
    requests, a cap of one at 50 ms was probed every 12.5 s and held 0.57-0.61 of it, from
    0.72-0.76.
    """
    least, most = _PROBE_REQUESTS
    return max(least, min(most, _PROBE_REQUESTS_SECONDS * limit))


def _is_long_pause(seconds: float) -> bool:
    """Whether a pause lasts ``_LONG_PAUSE`` or more, to the clock's rounding.

    A pause's length is a difference of clock readings: one set as 5 s may read 4.999999.
    """
    return seconds >= _LONG_PAUSE - _SAME_SECONDS


def duration_text(seconds: float) -> str:
    """``45 s``, ``10 min``, ``1 h 5 min``: a pause or a stall as a person reads it."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
