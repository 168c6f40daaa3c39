"""Legal review of major decisions (法制审核, R-L1..R-L6), one concept per module: catalogue (what is
major, the versioned 目录清单 and the flag of a case), deadlines (the 5-working-day clock), reviews
(submission, opinion, dispute, head decision, every round kept, each a record and a log leaf), gate
(no major decision without a passing review), staffing (the reviewer ratio) and responsibility."""
