"""Everything torch: the seed's networks, features, schedules, the reference and population trainers."""
