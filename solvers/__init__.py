"""Solvers: constraint tracing, kinematics, sub-goal and path problems, backends."""
