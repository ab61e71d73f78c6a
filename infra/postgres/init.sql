-- One database per service: each service owns its data.
CREATE DATABASE orders;
CREATE DATABASE capacity;
CREATE DATABASE matcher;
