"""On-call schedules: rotations, layers, overrides; who is on call, and iCal export."""
