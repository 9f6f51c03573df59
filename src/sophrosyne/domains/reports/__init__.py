"""Reports: overview, actions, servers, errors and analysis insights over a time window."""
