"""Monthly snapshots of the quota report's figures (docs/reports.md "Monthly snapshots"): an app of its
own under portal.reports, the one portal package that may read the apps' selectors."""
