global using Nefele.Testing;
