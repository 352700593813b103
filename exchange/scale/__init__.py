"""The scale data set: `flask seed-scale` fills the database with tens of thousands of generated rows
(partners, agreements, students, a large call with reviewed applications, events with registrations) to
measure and tune the pages at the size of a large university. See exchange/scale/seed.py and bench/.

The package has no pages: exchange/cli.py registers the command (scale/cli.py) on the app's CLI."""
