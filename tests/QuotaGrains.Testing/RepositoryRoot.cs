namespace QuotaGrains.Testing;

/// <summary>The repository a test or benchmark runs from: where QuotaGrains.sln (and Azurite's package.json) is.</summary>
public static class RepositoryRoot
{
    /// <summary>The first folder holding QuotaGrains.sln above the binaries, or else above the current directory
    /// (a benchmark run with <c>dotnet run</c> from the repository).</summary>
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "QuotaGrains.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("QuotaGrains.sln was not found above the binaries or the current directory.");
    }
}
