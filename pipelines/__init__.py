"""Work: data sources, the fetch path, jobs and the services they run on."""
