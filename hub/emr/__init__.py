"""EMR agendas: what an EMR sends and receives, vendor profiles, feeds."""
