"""What every part shares: the account key, the data directory layout, atomic files, bounded JSON."""
